package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// JSONSchema is the JSON Schema (draft 2020-12) of the JSON report and of
// the JSON lines of watch and live ($defs/finding_line, $defs/config_line).
//
//go:embed report.schema.json
var JSONSchema []byte

// Validate checks data against JSONSchema: the whole report when def is
// "", else the named $defs entry (e.g. "finding_line"). It returns one
// message per violation. Tests hold every writer to the schema with it.
func Validate(def string, data []byte) ([]string, error) {
	var schema map[string]any
	if err := json.Unmarshal(JSONSchema, &schema); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	c := &schemaChecker{root: schema}
	target := schema
	if def != "" {
		d, ok := schema["$defs"].(map[string]any)[def].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("schema has no $defs/%s", def)
		}
		target = d
	}
	c.check("$", target, doc)
	return c.errs, nil
}

// A small JSON Schema checker for the keywords report.schema.json uses
// (type, const, enum, required, properties, additionalProperties, items,
// $ref to $defs, minimum, maximum, pattern, date and date-time formats),
// so the schema is tested against real output without a new dependency.
type schemaChecker struct {
	root map[string]any
	errs []string
}

func (c *schemaChecker) check(path string, schema map[string]any, v any) {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		c.check(path, c.root["$defs"].(map[string]any)[name].(map[string]any), v)
		return
	}
	if want, ok := schema["const"]; ok && fmt.Sprint(want) != fmt.Sprint(v) {
		c.fail(path, "is %v, want %v", v, want)
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || fmt.Sprint(e) == fmt.Sprint(v)
		}
		if !found {
			c.fail(path, "%v not in %v", v, enum)
		}
	}
	if typ, ok := schema["type"].(string); ok && !hasType(typ, v) {
		c.fail(path, "is %T, want %s", v, typ)
		return
	}
	c.checkNumber(path, schema, v)
	c.checkString(path, schema, v)
	switch x := v.(type) {
	case map[string]any:
		c.checkObject(path, schema, x)
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				c.check(fmt.Sprintf("%s[%d]", path, i), items, e)
			}
		}
	}
}

func (c *schemaChecker) checkObject(path string, schema map[string]any, x map[string]any) {
	for _, r := range asStrings(schema["required"]) {
		if _, ok := x[r]; !ok {
			c.fail(path, "lacks required %q", r)
		}
	}
	props, _ := schema["properties"].(map[string]any)
	keys := make([]string, 0, len(x))
	for k := range x {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if p, ok := props[k].(map[string]any); ok {
			c.check(path+"."+k, p, x[k])
		} else if ap, ok := schema["additionalProperties"].(map[string]any); ok {
			c.check(path+"."+k, ap, x[k])
		} else if props != nil {
			c.fail(path, "has %q, which the schema does not document", k)
		}
	}
}

func (c *schemaChecker) checkNumber(path string, schema map[string]any, v any) {
	n, ok := v.(float64)
	if !ok {
		return
	}
	if m, ok := schema["minimum"].(float64); ok && n < m {
		c.fail(path, "%v < minimum %v", n, m)
	}
	if m, ok := schema["maximum"].(float64); ok && n > m {
		c.fail(path, "%v > maximum %v", n, m)
	}
}

func (c *schemaChecker) checkString(path string, schema map[string]any, v any) {
	s, ok := v.(string)
	if !ok {
		return
	}
	if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
		c.fail(path, "%q does not match %s", s, p)
	}
	switch schema["format"] {
	case "date-time":
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			c.fail(path, "%q is not date-time", s)
		}
	case "date":
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			c.fail(path, "%q is not a date", s)
		}
	}
}

func hasType(typ string, v any) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	}
	return false
}

func asStrings(v any) []string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		out = append(out, x.(string))
	}
	return out
}

func (c *schemaChecker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, path+": "+fmt.Sprintf(format, args...))
}
