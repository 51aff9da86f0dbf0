package config

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The document is walked node by node against the Config struct rather than
// decoded with yaml.v3's KnownFields: that way an unknown key is reported
// with its full path ("smsc.windw") instead of a Go type name, a bad value
// does not hide the problems after it, and values keep their defaults unless
// the file sets them.

var (
	durationType = reflect.TypeFor[time.Duration]()
	sizeType     = reflect.TypeFor[ByteSize]()
	modeType     = reflect.TypeFor[os.FileMode]()
	secretType   = reflect.TypeFor[Secret]()
	smscType     = reflect.TypeFor[SMSC]()
	webhookType  = reflect.TypeFor[Webhook]()
)

// decodeDocument reads data into c, which holds the defaults, recording
// every problem in ps. It reports false when the text is not YAML at all, in
// which case checking the values would only add noise.
func decodeDocument(data []byte, c *Config, ps *problems) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		ps.add("", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return false
	}
	if len(doc.Content) > 0 { // an empty file keeps every default
		root := doc.Content[0]
		decodeValue(root, reflect.ValueOf(c).Elem(), "", ps)
		if root.Kind == yaml.MappingNode {
			for i := 0; i < len(root.Content); i += 2 {
				if root.Content[i].Value == "smsc" {
					c.smscGiven = true
				}
			}
		}
	}
	return true
}

func decodeValue(n *yaml.Node, v reflect.Value, path string, ps *problems) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with nothing after it keeps the default
	}
	if v.Kind() == reflect.Struct && v.Type() != secretType {
		decodeMapping(n, v, path, ps)
		return
	}
	if v.Kind() == reflect.Slice {
		decodeSequence(n, v, path, ps)
		return
	}
	if n.Kind != yaml.ScalarNode {
		ps.add(path, "must be a single value, not a %s", kindName(n.Kind))
		return
	}
	s := n.Value
	switch v.Type() {
	case durationType:
		d, err := ParseDuration(s)
		if err != nil {
			ps.add(path, "%v", err)
			return
		}
		v.SetInt(int64(d))
		return
	case sizeType:
		b, err := ParseByteSize(s)
		if err != nil {
			ps.add(path, "%v", err)
			return
		}
		v.SetInt(int64(b))
		return
	case modeType:
		// The text is read as octal whatever YAML thinks of it, so 0640,
		// "0640" and 640 all mean rw-r-----.
		m, err := ParseFileMode(s)
		if err != nil {
			ps.add(path, "%v", err)
			return
		}
		v.SetUint(uint64(m))
		return
	case secretType:
		v.Set(reflect.ValueOf(NewSecret(s)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, ok := parseBool(n)
		if !ok {
			ps.add(path, "must be true or false, got %q", s)
			return
		}
		v.SetBool(b)
	case reflect.Int:
		i, err := strconv.Atoi(s)
		if err != nil {
			ps.add(path, "must be a whole number, got %q", s)
			return
		}
		v.SetInt(int64(i))
	default:
		// Only reachable if a field of an unsupported type is added to
		// Config; TestDefault_EveryKey walks every field and catches it.
		ps.add(path, "internal error: cannot decode into %s", v.Type())
	}
}

// decodeSequence reads a list; its items are named path[0], path[1]... in
// problems. A list given replaces the default list whole.
func decodeSequence(n *yaml.Node, v reflect.Value, path string, ps *problems) {
	if n.Kind != yaml.SequenceNode {
		ps.add(path, "must be a list, not a %s", kindName(n.Kind))
		return
	}
	if len(n.Content) == 0 {
		v.SetZero() // "[]" is the empty default, nil
		return
	}
	list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		if v.Type().Elem() == smscType {
			// Each account of smscs: starts from smsc:'s defaults.
			d := Default().SMSC
			d.listed = true
			list.Index(i).Set(reflect.ValueOf(d))
		}
		if v.Type().Elem() == webhookType {
			list.Index(i).Set(reflect.ValueOf(Webhook{Timeout: 10 * time.Second}))
		}
		decodeValue(item, list.Index(i), fmt.Sprintf("%s[%d]", path, i), ps)
	}
	v.Set(list)
}

func decodeMapping(n *yaml.Node, v reflect.Value, path string, ps *problems) {
	if n.Kind != yaml.MappingNode {
		ps.add(path, "must be a mapping of keys, not a %s", kindName(n.Kind))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := join(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			ps.add(key, "given twice (lines %d and %d)", line, k.Line)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			msg := "unknown key"
			if s := closest(k.Value, fields); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			ps.add(key, "%s", msg)
			continue
		}
		decodeValue(val, v.Field(idx), key, ps)
	}
}

// yamlFields maps the keys of a struct's yaml tags to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if name := yamlKey(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

// yamlKey is the key of a field in the file, "" for fields not in the file.
func yamlKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// parseBool accepts YAML 1.2 booleans only: "yes" and "on" are strings in
// YAML 1.2 and a likely typo here, so they are refused rather than guessed.
func parseBool(n *yaml.Node) (bool, bool) {
	if n.Tag != "!!bool" {
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	}
	return "single value"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// closest suggests the known key nearest to an unknown one, within two
// edits, so typos get a hint.
func closest(key string, known map[string]int) string {
	best, bestDist := "", 3
	for k := range known {
		if d := editDistance(key, k); d < bestDist || d == bestDist && k < best {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
