package awssim

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"time"
)

// X is a small XML tree. Handlers of the XML protocols build their responses
// from it: it keeps element order explicit and spares a struct per shape.
type X struct {
	Name string
	Text string
	Kids []*X
	leaf bool
}

// E builds an element; nil children are skipped so optional fields compose.
func E(name string, kids ...*X) *X {
	x := &X{Name: name}
	for _, k := range kids {
		if k != nil {
			x.Kids = append(x.Kids, k)
		}
	}
	return x
}

// L builds a list element from a slice of children.
func L(name string, kids []*X) *X { return E(name, kids...) }

// T builds a text leaf from a string, number, bool or time.
func T(name string, v any) *X {
	x := &X{Name: name, leaf: true}
	switch t := v.(type) {
	case string:
		x.Text = t
	case int:
		x.Text = strconv.Itoa(t)
	case int64:
		x.Text = strconv.FormatInt(t, 10)
	case float64:
		x.Text = strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		x.Text = strconv.FormatBool(t)
	case time.Time:
		x.Text = ISOTime(t)
	default:
		panic("awssim.T: unsupported type") // programming error, never user input
	}
	return x
}

// TO is T for strings, omitted when empty.
func TO(name, v string) *X {
	if v == "" {
		return nil
	}
	return T(name, v)
}

// ISOTime formats a timestamp the way the XML protocols do.
func ISOTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// write serialises the tree with escaping.
func (x *X) write(b *bytes.Buffer) {
	b.WriteByte('<')
	b.WriteString(x.Name)
	if x.leaf && x.Text == "" {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	if x.leaf {
		_ = xml.EscapeText(b, []byte(x.Text))
	}
	for _, k := range x.Kids {
		k.write(b)
	}
	b.WriteString("</")
	b.WriteString(x.Name)
	b.WriteByte('>')
}

// document renders root with an xmlns attribute and children.
func document(root, xmlns string, kids ...*X) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<" + root)
	if xmlns != "" {
		b.WriteString(` xmlns="` + xmlns + `"`)
	}
	b.WriteByte('>')
	for _, k := range kids {
		if k != nil {
			k.write(&b)
		}
	}
	b.WriteString("</" + root + ">")
	return b.Bytes()
}
