package config

import (
	"bytes"
	"os"
	"reflect"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Effective renders the configuration as YAML in the file's own syntax,
// with every default filled in, every path absolute and every secret shown as
// "[redacted]". config check prints it. With the secrets put back it parses
// to the same configuration.
func (c *Config) Effective() []byte {
	root := encodeValue(reflect.ValueOf(c).Elem())
	if c.Admin.GenerateToken {
		// Printed as the default it is, so that the output parses back to a
		// generated token rather than one that must already exist.
		tokenFile := lookup(root, "admin", "token_file")
		tokenFile.LineComment = "default: " + c.Admin.TokenFile + " (created by the agent when missing)"
		tokenFile.Value = ""
	}
	// One form of accounts: the smsc: block, or the smscs: list.
	if len(c.SMSCs) > 0 {
		drop(root, "smsc")
	} else {
		drop(root, "smscs")
	}
	// The cluster's block only with the backend that reads it.
	if c.Store.Backend != BackendJetStream {
		drop(lookup(root, "store"), "jetstream")
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	// Encoding a tree of plain nodes cannot fail.
	_ = enc.Encode(root)
	_ = enc.Close()
	return buf.Bytes()
}

// drop removes a key and its value from a mapping.
func drop(n *yaml.Node, key string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
	}
}

// lookup finds the value node at a key path in a tree of mappings.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				n = n.Content[i+1]
				break
			}
		}
	}
	return n
}

func encodeValue(v reflect.Value) *yaml.Node {
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	// Durations and sizes are left untagged so they print without quotes.
	plain := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }
	switch v.Type() {
	case durationType:
		return plain(FormatDuration(time.Duration(v.Int())))
	case sizeType:
		return plain(ByteSize(v.Int()).String())
	case modeType:
		return str(FormatFileMode(os.FileMode(v.Uint())))
	case secretType:
		return str(v.Interface().(Secret).shown())
	}
	switch v.Kind() {
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i := range v.NumField() {
			key := yamlKey(v.Type().Field(i))
			if key == "" {
				continue
			}
			m.Content = append(m.Content, str(key), encodeValue(v.Field(i)))
		}
		return m
	case reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if v.Len() == 0 {
			seq.Style = yaml.FlowStyle // "[]"
		}
		for i := range v.Len() {
			seq.Content = append(seq.Content, encodeValue(v.Index(i)))
		}
		return seq
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}
	case reflect.Int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}
	}
	return str(v.String())
}
