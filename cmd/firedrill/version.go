package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the firedrill version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "firedrill %s (%s %s/%s)\n",
				buildinfo.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
