module github.com/smsagent/smsagent

go 1.26.0

require (
	github.com/kardianos/service v1.3.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/sys v0.50.0
)

require github.com/alecthomas/kong v1.17.0
