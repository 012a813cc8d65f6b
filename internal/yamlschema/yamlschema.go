// Package yamlschema checks YAML documents against the Go types they decode
// into, and describes those types as JSON Schema, so that a loader can
// report every unknown field of a file at once (not only the first a
// strict decoder meets) and editors can validate files as users type.
//
// Field names are the types' yaml tags; a `doc:"…"` tag is a field's
// description.
package yamlschema

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// Problem is one unknown field.
type Problem struct {
	Path string // e.g. containment[2].acton
	Pos  *token.Position
	Msg  string
}

// UnknownFields walks n as a value of type t and returns every mapping key
// that names no field, with its path (prefixed by base) and position.
// Values of map, interface and unknown types are not walked into.
func UnknownFields(n ast.Node, t reflect.Type, base string) []Problem {
	var out []Problem
	walk(n, t, base, &out)
	return out
}

func walk(n ast.Node, t reflect.Type, p string, out *[]Problem) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := n.(type) {
	case *ast.DocumentNode:
		walk(x.Body, t, p, out)
	case *ast.AnchorNode:
		walk(x.Value, t, p, out)
	case *ast.TagNode:
		walk(x.Value, t, p, out)
	case *ast.MappingNode:
		for _, mv := range x.Values {
			walk(mv, t, p, out)
		}
	case *ast.MappingValueNode:
		key := keyString(x.Key)
		child := join(p, key)
		switch t.Kind() {
		case reflect.Struct:
			f, ok := FieldByName(t, key)
			if !ok {
				*out = append(*out, Problem{Path: child, Pos: x.Key.GetToken().Position,
					Msg: fmt.Sprintf("unknown field %q (known: %s)", key, strings.Join(FieldNames(t), ", "))})
				return
			}
			walk(x.Value, f.Type, child, out)
		case reflect.Map:
			walk(x.Value, t.Elem(), child, out)
		}
	case *ast.SequenceNode:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, e := range x.Values {
				walk(e, t.Elem(), fmt.Sprintf("%s[%d]", p, i), out)
			}
		}
	}
}

func join(p, key string) string {
	if p == "" {
		return key
	}
	return p + "." + key
}

func keyString(n ast.MapKeyNode) string {
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return n.String()
}

// Name is a field's YAML name ("" for fields not in YAML).
func Name(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name := strings.Split(f.Tag.Get("yaml"), ",")[0]
	if name == "-" || name == "" {
		return ""
	}
	return name
}

// FieldByName finds the field a YAML key names.
func FieldByName(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); Name(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// FieldNames lists a struct's YAML field names in declaration order.
func FieldNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if n := Name(t.Field(i)); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Generator turns Go types into JSON Schema.
type Generator struct {
	// Custom describes a type itself (a duration written as a string, a
	// value that may be a string or a list), or returns false.
	Custom func(t reflect.Type) (map[string]any, bool)
	// Field adds to a field's schema (an enum of known names, …).
	Field func(parent reflect.Type, f reflect.StructField, s map[string]any)
	// Required lists a struct's required YAML fields.
	Required func(t reflect.Type) []string
}

// Schema is the JSON Schema (2020-12) document of t.
func (g *Generator) Schema(t reflect.Type, id, title string) map[string]any {
	s := g.of(t, map[reflect.Type]bool{})
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = id
	s["title"] = title
	return s
}

func (g *Generator) of(t reflect.Type, seen map[reflect.Type]bool) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if g.Custom != nil {
		if s, ok := g.Custom(t); ok {
			return s
		}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem(), seen)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem(), seen)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if seen[t] {
			return map[string]any{"type": "object"}
		}
		seen[t] = true
		defer delete(seen, t)
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := Name(f)
			if name == "" {
				continue
			}
			fs := g.of(f.Type, seen)
			if d := f.Tag.Get("doc"); d != "" {
				fs["description"] = d
			}
			if g.Field != nil {
				g.Field(t, f, fs)
			}
			props[name] = fs
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if g.Required != nil {
			if req := g.Required(t); len(req) > 0 {
				sort.Strings(req)
				s["required"] = req
			}
		}
		return s
	}
	return map[string]any{}
}

// Duration is the schema of a Go duration string ("90s", "25m", "2h").
func Duration() map[string]any {
	return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`,
		"description": "a duration such as 90s, 25m or 2h"}
}
