module github.com/smsagent/smsagent

go 1.26
