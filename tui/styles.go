package tui

import (
	"charm.land/lipgloss/v2"
)

// The styles use the terminal's 16 ANSI colours, which follow its own light
// or dark palette, plus bold and reverse. Selection is reverse video, so it
// stays visible under NO_COLOR, where bubbletea downsamples to the ASCII
// profile: colours are dropped, attributes kept.
var (
	stTitle    = lipgloss.NewStyle().Bold(true)
	stHeader   = lipgloss.NewStyle().Bold(true).Reverse(true)
	stDim      = lipgloss.NewStyle().Foreground(lipgloss.BrightBlack)
	stSelected = lipgloss.NewStyle().Reverse(true)
	stGood     = lipgloss.NewStyle().Foreground(lipgloss.Green)
	stBad      = lipgloss.NewStyle().Foreground(lipgloss.Red).Bold(true)
	stWarn     = lipgloss.NewStyle().Foreground(lipgloss.Yellow)
	stLane     = [laneCount]lipgloss.Style{
		lipgloss.NewStyle().Foreground(lipgloss.Red),
		lipgloss.NewStyle().Foreground(lipgloss.Yellow),
		lipgloss.NewStyle().Foreground(lipgloss.Cyan),
	}
)
