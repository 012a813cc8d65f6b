package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
)

// simOpsOptions are the flags of 'firedrill sim ops'.
type simOpsOptions struct {
	Cloud  string
	Output string
	Out    io.Writer
}

func newSimOpsCmd() *cobra.Command {
	opts := &simOpsOptions{}
	cmd := &cobra.Command{
		Use:   "ops",
		Short: "List the operations each simulated cloud serves",
		Long: `List every operation the simulated clouds serve, by cloud and service, named as
each cloud's API reference names them (ec2 DescribeInstances, Microsoft.Compute
virtualMachines/read, compute instances.list). Any other operation answers with
the cloud's own error naming it. docs/sim-operations.md is generated from the
same list.`,
		Example: `  firedrill sim ops
  firedrill sim ops --cloud gcp
  firedrill sim ops -o json | jq '.[].operations | length'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = cmd.OutOrStdout()
			return runSimOps(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Cloud, "cloud", "", "only this cloud: aws, azure or gcp (default: every cloud)")
	f.StringVarP(&opts.Output, "output", "o", outTable, "output format: table or json")
	return cmd
}

func runSimOps(opts *simOpsOptions) error {
	if err := checkOutput(opts.Output, outTable, outJSON); err != nil {
		return err
	}
	clouds, err := simcloud.AllOperations(opts.Cloud)
	if err != nil {
		return &usageError{msg: "--cloud: " + err.Error()}
	}
	if opts.Output == outJSON {
		return writeJSON(opts.Out, clouds)
	}
	tw := newTable(opts.Out)
	fmt.Fprintln(tw, "CLOUD\tSERVICE\tOPERATION")
	for _, c := range clouds {
		if !c.Listed {
			fmt.Fprintf(tw, "%s\t-\tnot listed yet\n", c.Cloud)
		}
		for _, op := range c.Operations {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Cloud, op.Service, op.Name)
		}
	}
	return flush(tw, "operations")
}
