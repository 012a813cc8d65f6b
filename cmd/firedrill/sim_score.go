package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/scoring"
)

// simScoreOptions are the flags of 'firedrill sim score'.
type simScoreOptions struct {
	Endpoint string
	CAFile   string
	Output   string
	Out      io.Writer
}

func newSimScoreCmd() *cobra.Command {
	opts := &simScoreOptions{}
	cmd := &cobra.Command{
		Use:   "score",
		Short: "Print the scorecard of the scenario a running 'sim serve' plays",
		Long: `Ask a running 'firedrill sim serve --scenario' for its scorecard so far: the same
scorecard a drill prints, scored on what happened until now (containment is
verified by the attacker's probes only when the scenario ends). Any of the
served endpoints answers (sim serve prints FIREDRILL_SCORE_ENDPOINT).`,
		Example: `  firedrill sim score --endpoint "$FIREDRILL_SCORE_ENDPOINT"
  firedrill sim score --endpoint http://127.0.0.1:4566 -o json | jq .verdict`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = cmd.OutOrStdout()
			return runSimScore(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Endpoint, "endpoint", os.Getenv("FIREDRILL_SCORE_ENDPOINT"), "an endpoint of the running sim serve ($FIREDRILL_SCORE_ENDPOINT)")
	f.StringVar(&opts.CAFile, "ca", "", "CA to trust for an https endpoint ($FIREDRILL_AZURE_CA)")
	f.StringVarP(&opts.Output, "output", "o", outTable, "output format: table or json")
	return cmd
}

func runSimScore(ctx context.Context, opts *simScoreOptions) error {
	if err := checkOutput(opts.Output, outTable, outJSON); err != nil {
		return err
	}
	if !strings.HasPrefix(opts.Endpoint, "http://") && !strings.HasPrefix(opts.Endpoint, "https://") {
		return &usageError{msg: fmt.Sprintf("--endpoint %q: expected the http(s) URL of a running 'firedrill sim serve'", opts.Endpoint)}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return &usageError{msg: fmt.Sprintf("--ca: %v", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return &usageError{msg: fmt.Sprintf("--ca %s: no PEM certificate in it", opts.CAFile)}
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	url := strings.TrimSuffix(opts.Endpoint, "/") + scorePath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &usageError{msg: fmt.Sprintf("--endpoint %q: %v", opts.Endpoint, err)}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s for the scorecard: %w", opts.Endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the scorecard from %s: %w", opts.Endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s (is it 'firedrill sim serve --scenario'?)", url, resp.Status, strings.TrimSpace(string(body)))
	}
	card := &scoring.Scorecard{}
	if err := json.Unmarshal(body, card); err != nil {
		return fmt.Errorf("%s did not answer a scorecard: %w", url, err)
	}
	if opts.Output == outJSON {
		_, err := opts.Out.Write(body)
		return err
	}
	return card.Table(opts.Out)
}
