package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/stretchr/testify/require"
)

// vterm is a minimal terminal emulator for the end-to-end tests. The
// renderer writes only the cells that changed, so a text on screen is
// often not a contiguous string of the output; replaying the output onto a
// grid gives what a person would read. It knows the sequences the renderer
// uses for text and layout (cursor moves, erases, line insert/delete,
// scroll margins, repeat) and ignores styles and modes.
type vterm struct {
	w, h        int
	cells       [][]string
	row, col    int
	top, bottom int
	last        string
	saved       [2]int
}

func newVTerm(w, h int) *vterm {
	s := &vterm{w: w, h: h, bottom: h - 1}
	s.cells = make([][]string, h)
	for i := range s.cells {
		s.cells[i] = s.blankLine()
	}
	return s
}

func (s *vterm) blankLine() []string {
	l := make([]string, s.w)
	for i := range l {
		l[i] = " "
	}
	return l
}

func (s *vterm) clamp() {
	s.row = min(max(s.row, 0), s.h-1)
	s.col = min(max(s.col, 0), s.w-1)
}

func (s *vterm) put(g string, width int) {
	if s.col >= s.w {
		return
	}
	s.cells[s.row][s.col] = g
	for i := 1; i < width && s.col+i < s.w; i++ {
		s.cells[s.row][s.col+i] = ""
	}
	s.col += max(width, 1)
	s.last = g
}

// scrollUp moves the lines of the scroll region up by n.
func (s *vterm) scrollUp(from, n int) {
	for range n {
		copy(s.cells[from:s.bottom+1], s.cells[from+1:s.bottom+1])
		s.cells[s.bottom] = s.blankLine()
	}
}

func (s *vterm) scrollDown(from, n int) {
	for range n {
		copy(s.cells[from+1:s.bottom+1], s.cells[from:s.bottom])
		s.cells[from] = s.blankLine()
	}
}

func (s *vterm) Write(b []byte) {
	p := ansi.NewParser()
	var state byte
	for len(b) > 0 {
		seq, width, n, newState := ansi.DecodeSequence(b, state, p)
		state = newState
		b = b[n:]
		switch {
		case width > 0 || (len(seq) > 0 && seq[0] >= 0x20 && seq[0] != 0x7f && !ansi.HasEscPrefix(seq) && !ansi.HasCsiPrefix(seq)):
			s.put(string(seq), width)
		case len(seq) == 1 && seq[0] == '\r':
			s.col = 0
		case len(seq) == 1 && seq[0] == '\n':
			// The renderer's output is written with newline translation
			// (LF starts the next line at column 0), as on the terminal.
			s.col = 0
			if s.row == s.bottom {
				s.scrollUp(s.top, 1)
			} else {
				s.row++
			}
		case len(seq) == 1 && seq[0] == '\b':
			s.col--
		case ansi.HasCsiPrefix(seq):
			s.csi(ansi.Cmd(p.Command()), p)
		case ansi.HasEscPrefix(seq) && len(seq) == 2:
			switch seq[1] {
			case '7':
				s.saved = [2]int{s.row, s.col}
			case '8':
				s.row, s.col = s.saved[0], s.saved[1]
			}
		}
		s.clamp()
	}
}

func (s *vterm) csi(c ansi.Cmd, p *ansi.Parser) {
	if c.Prefix() != 0 || c.Intermediate() != 0 {
		return // private modes, cursor style, …
	}
	arg := func(i, def int) int {
		v, ok := p.Param(i, def)
		if !ok || v == 0 {
			return def
		}
		return v
	}
	switch c.Final() {
	case 'H', 'f':
		s.row, s.col = arg(0, 1)-1, arg(1, 1)-1
	case 'A':
		s.row -= arg(0, 1)
	case 'B':
		s.row += arg(0, 1)
	case 'C':
		s.col += arg(0, 1)
	case 'D':
		s.col -= arg(0, 1)
	case 'G':
		s.col = arg(0, 1) - 1
	case 'd':
		s.row = arg(0, 1) - 1
	case 'K':
		mode, _ := p.Param(0, 0)
		from, to := s.col, s.w
		if mode == 1 {
			from, to = 0, s.col+1
		} else if mode == 2 {
			from = 0
		}
		for i := from; i < min(to, s.w); i++ {
			s.cells[s.row][i] = " "
		}
	case 'J':
		mode, _ := p.Param(0, 0)
		switch mode {
		case 0:
			for i := s.col; i < s.w; i++ {
				s.cells[s.row][i] = " "
			}
			for r := s.row + 1; r < s.h; r++ {
				s.cells[r] = s.blankLine()
			}
		case 1:
			for r := 0; r < s.row; r++ {
				s.cells[r] = s.blankLine()
			}
		default:
			for r := range s.cells {
				s.cells[r] = s.blankLine()
			}
		}
	case 'X':
		for i := s.col; i < min(s.col+arg(0, 1), s.w); i++ {
			s.cells[s.row][i] = " "
		}
	case 'b':
		for range arg(0, 1) {
			s.put(s.last, ansi.StringWidth(s.last))
		}
	case 'L':
		s.scrollDown(s.row, arg(0, 1))
	case 'M':
		s.scrollUp(s.row, arg(0, 1))
	case 'S':
		s.scrollUp(s.top, arg(0, 1))
	case 'T':
		s.scrollDown(s.top, arg(0, 1))
	case 'r':
		s.top, s.bottom = arg(0, 1)-1, arg(1, s.h)-1
		s.row, s.col = 0, 0
	case '@':
		n := arg(0, 1)
		line := s.cells[s.row]
		for i := s.w - 1; i >= s.col+n; i-- {
			line[i] = line[i-n]
		}
		for i := s.col; i < min(s.col+n, s.w); i++ {
			line[i] = " "
		}
	case 'P':
		n := arg(0, 1)
		line := s.cells[s.row]
		for i := s.col; i < s.w; i++ {
			if i+n < s.w {
				line[i] = line[i+n]
			} else {
				line[i] = " "
			}
		}
	}
}

func (s *vterm) String() string {
	lines := make([]string, s.h)
	for i, l := range s.cells {
		lines[i] = strings.TrimRight(strings.Join(l, ""), " ")
	}
	return strings.Join(lines, "\n")
}

func TestVTermEmulator(t *testing.T) {
	s := newVTerm(10, 3)
	s.Write([]byte("hello\r\nworld\x1b[1;2Ha\x1b[2;3H\x1b[1mX\x1b[m\x1b[3;1Hab\x1b[3bc\x1b[2;1H\x1b[K"))
	require.Equal(t, "hallo\n\nabbbbc", s.String())
	s.Write([]byte("\x1b[1;1H\x1b[1M"))
	require.Equal(t, "\nabbbbc\n", s.String(), "delete line shifts the lines below up")
}
