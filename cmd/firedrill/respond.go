package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	xterm "github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/providers"
	provaws "github.com/firedrill-ir/firedrill/providers/aws"
	provazure "github.com/firedrill-ir/firedrill/providers/azure"
	provgcp "github.com/firedrill-ir/firedrill/providers/gcp"
	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/timeline"
)

// respondOptions are the flags of 'firedrill respond'.
type respondOptions struct {
	Cloud           string
	Resource        string
	Account         string
	Region          string
	Playbook        string // built-in id or YAML file
	CaseID          string
	EvidenceBucket  string
	Endpoint        string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Tenant          string // Azure: Entra ID tenant of static credentials
	CAFile          string // Azure simulator: CA certificate to trust
	Profile         string
	PollInterval    time.Duration
	Execute         bool
	Yes             bool
	Output          string

	In          io.Reader
	Out, ErrOut io.Writer
	// Color: stderr is a terminal, so progress lines may carry ANSI colors.
	Color bool
	// Interactive: stdin is a terminal, so a confirmation can be asked.
	Interactive bool
	// Getenv reads the environment (os.Getenv; tests may replace it).
	Getenv func(string) string
}

// respondTarget is a resolved target: the provider's target and options.
type respondTarget struct {
	Target    providers.Target
	Simulator bool   // a loopback endpoint: the firedrill simulator
	CredsFrom string // where the credentials come from, for the report
	azureOpts []provazure.Option
	gcpOpts   []provgcp.Option
}

// buildProvider builds the provider of a resolved target. It is a variable
// so tests can prove that a refused command builds none.
var buildProvider = func(ctx context.Context, t *respondTarget, poll time.Duration) (providers.Provider, func(), error) {
	noop := func() {}
	switch t.Target.Cloud {
	case providers.CloudAWS:
		var o []provaws.Option
		if poll > 0 {
			o = append(o, provaws.WithPollInterval(poll))
		}
		p, err := provaws.New(ctx, t.Target, o...)
		if err != nil {
			return nil, noop, err
		}
		return p, noop, nil
	case providers.CloudAzure:
		o := slices.Clone(t.azureOpts)
		if poll > 0 {
			o = append(o, provazure.WithPollInterval(poll))
		}
		p, err := provazure.New(ctx, t.Target, o...)
		if err != nil {
			return nil, noop, err
		}
		return p, noop, nil
	case providers.CloudGCP:
		o := slices.Clone(t.gcpOpts)
		if poll > 0 {
			o = append(o, provgcp.WithPollInterval(poll))
		}
		p, err := provgcp.New(ctx, t.Target, o...)
		if err != nil {
			return nil, noop, err
		}
		return p, func() { _ = p.Close() }, nil
	}
	return nil, noop, &usageError{msg: fmt.Sprintf("--cloud %q: expected aws, azure or gcp", t.Target.Cloud)}
}

// stdinIsTerminal reports whether the confirmation can be asked; a
// variable so tests can play an operator at a terminal.
// A character device is not enough (/dev/null is one): ask the terminal
// driver.
var stdinIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && xterm.IsTerminal(f.Fd())
}

func newRespondCmd() *cobra.Command {
	opts := &respondOptions{}
	cmd := &cobra.Command{
		Use:   "respond --cloud aws|azure|gcp --resource ID",
		Short: "Respond to an incident on a real or simulated cloud (dry run unless --execute)",
		Long: `Run a response playbook against one compromised VM in a real AWS account, Azure
subscription or GCP project — the same responder and playbooks as the drills —
or against 'firedrill sim serve'.

Without --execute (the default) it is a DRY RUN and changes nothing:
  1. resolves the target and verifies the credentials (read-only identity
     calls: sts:GetCallerIdentity, an Entra ID token, the GCP credentials);
  2. describes the resource (read-only) and fails if it does not exist;
  3. prints the response plan for this resource on this cloud: every step in
     waves of parallel steps with its dependencies and whether it only reads
     or CHANGEs the cloud; the decision tree with what automation would answer
     from the described facts (tags, scaling group); and which steps would be
     skipped here and why (another cloud's step, a capability this cloud
     lacks with its documented fallback, another decision branch).
  Read calls still appear in the cloud's audit log, as any read does.

With --execute it runs the playbook for real, on the wall clock: evidence
(snapshots, process lists, memory, audit extracts with SHA-256s), containment
(termination and scale-in protection, two-step network isolation, identity
detach, session revocation, quarantine tags, stop), investigation queries and
remediation checks. Timeline events stream to stderr as progress lines; the
case summary (steps and outcomes, evidence manifest, containment,
notifications) is printed as a table or --output json.

Safety rules:
  - nothing is changed without --execute;
  - flags, the playbook (errors name file:line:col), the cloud and the
    resource's existence are all checked before the first change;
  - --execute against anything but the simulator on loopback asks for a
    confirmation naming the account, region and resource; --yes skips it;
    with no terminal and no --yes the command refuses before any call;
  - --account is checked against the credentials' account (AWS), so a wrong
    profile cannot act on the wrong account.

Credentials:
  live       each cloud's default chain: AWS profiles, SSO, environment and
             instance metadata (--profile picks a profile); Azure
             DefaultAzureCredential (environment, workload or managed identity,
             Azure CLI); GCP Application Default Credentials.
  simulator  --endpoint plus static credentials, or the variables that
             'firedrill sim serve' prints: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
             AWS_SECRET_ACCESS_KEY, AWS_REGION; FIREDRILL_AZURE_ENDPOINT,
             FIREDRILL_AZURE_CA, AZURE_TENANT_ID, AZURE_CLIENT_ID,
             AZURE_CLIENT_SECRET, AZURE_SUBSCRIPTION_ID; FIREDRILL_GCP_ENDPOINT
             with GOOGLE_APPLICATION_CREDENTIALS (a key file) or
             FIREDRILL_GCP_TOKEN, GOOGLE_CLOUD_PROJECT.
  For Azure --access-key-id is the client id and --secret-access-key the
  client secret; for GCP --secret-access-key is an OAuth2 access token and
  --access-key-id the principal's email.

Resources: an EC2 instance id (i-…); an Azure VM resource id or
resourceGroup/name (scale-set VMs by resource id); a GCP instance as
projects/P/zones/Z/instances/N, zones/Z/instances/N, Z/N or a unique name.

Playbooks: ec2-cryptomining (AWS, the default there) and vm-cryptomining (all
three clouds, the default on Azure and GCP), or --playbook FILE.

Exit codes:
  0  dry run printed, or executed and containment succeeded
  1  an error (credentials, API failure, interrupted)
  2  usage error: bad flags, unknown cloud, playbook or resource, invalid
     playbook file, --execute refused without confirmation
  3  executed, but a containment step failed: the resource is NOT contained`,
		Example: `  # AWS: plan first (nothing changes), then act with the 'ir' profile
  firedrill respond --cloud aws --region eu-west-1 --account 123456789012 \
      --resource i-0abc123 --profile ir
  firedrill respond --cloud aws --region eu-west-1 --account 123456789012 \
      --resource i-0abc123 --profile ir \
      --execute --evidence-bucket ir-forensics-123456789012 --case-id IR-2024-17

  # Azure (DefaultAzureCredential); the evidence bucket is storageaccount/container
  firedrill respond --cloud azure --account <subscription-id> --resource \
      /subscriptions/<sub>/resourceGroups/web-rg/providers/Microsoft.Compute/virtualMachines/web-1
  # GCP (Application Default Credentials)
  firedrill respond --cloud gcp --account my-project --resource us-central1-a/web-1 --execute

  # Against the simulator: start it, source what it prints, then respond (endpoint,
  # keys and the evidence bucket come from the environment; a live scenario's
  # clock too)
  firedrill sim serve --cloud all > /tmp/sim.env & sleep 1; . /tmp/sim.env
  aws ec2 describe-instances --query 'Reservations[].Instances[].InstanceId'
  firedrill respond --cloud aws --resource i-...
  firedrill respond --cloud aws --resource i-... --execute --poll-interval 2s
  firedrill respond --cloud azure --resource <vm resource id>
  firedrill respond --cloud gcp --resource batch-worker-1 --output json
  firedrill respond --cloud aws --resource i-... --endpoint http://127.0.0.1:4566 \
      --access-key-id AKIA... --secret-access-key ... --region us-east-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.In, opts.Out, opts.ErrOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.Color = isTerminal(opts.ErrOut)
			opts.Interactive = stdinIsTerminal(opts.In)
			opts.Getenv = os.Getenv
			return runRespond(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Cloud, "cloud", "", "cloud of the resource: aws, azure or gcp (required)")
	f.StringVar(&opts.Resource, "resource", "", "the compromised VM: EC2 instance id, Azure VM resource id, GCP instance (required)")
	f.StringVar(&opts.Account, "account", "", "AWS account id (checked against the credentials), Azure subscription id or GCP project id")
	f.StringVar(&opts.Region, "region", "", "region (AWS: required, or AWS_REGION); Azure location; GCP region")
	f.StringVar(&opts.Playbook, "playbook", "", "built-in playbook id or a playbook YAML file (default: ec2-cryptomining on AWS, vm-cryptomining elsewhere)")
	f.StringVar(&opts.CaseID, "case-id", "", "case id for tags, evidence keys and messages (default case-<playbook>-<UTC time>)")
	f.StringVar(&opts.EvidenceBucket, "evidence-bucket", "", "object-lock bucket for evidence (AWS S3 bucket; Azure storageaccount/container); required with --execute on AWS and Azure")
	f.StringVar(&opts.Endpoint, "endpoint", "", "API endpoint override, e.g. the simulator's http://127.0.0.1:4566 (default: the cloud's real endpoints)")
	f.StringVar(&opts.AccessKeyID, "access-key-id", "", "static credential id for --endpoint (AWS access key, Azure client id, GCP principal email)")
	f.StringVar(&opts.SecretAccessKey, "secret-access-key", "", "static credential secret for --endpoint (AWS secret key, Azure client secret, GCP access token)")
	f.StringVar(&opts.SessionToken, "session-token", "", "AWS session token of temporary static credentials")
	f.StringVar(&opts.Tenant, "tenant", "", "Azure: Entra ID tenant (default AZURE_TENANT_ID)")
	f.StringVar(&opts.CAFile, "ca-file", "", "Azure simulator: PEM certificate to trust (default FIREDRILL_AZURE_CA)")
	f.StringVar(&opts.Profile, "profile", "", "AWS shared-config profile (live targets only)")
	f.DurationVar(&opts.PollInterval, "poll-interval", 0, "how often snapshots and commands are polled (default: the provider's, 10-15s)")
	f.BoolVar(&opts.Execute, "execute", false, "run the playbook for real (default: dry run, change nothing)")
	f.BoolVar(&opts.Yes, "yes", false, "with --execute: do not ask for confirmation")
	f.StringVarP(&opts.Output, "output", "o", outTable, "output format: table or json")
	return cmd
}

// resolvePlaybook finds a built-in playbook or loads a file.
func resolvePlaybook(arg, cloud string) (*responder.Playbook, error) {
	if arg == "" {
		arg = "vm-cryptomining"
		if cloud == providers.CloudAWS {
			arg = "ec2-cryptomining"
		}
	}
	pb, err := loadPlaybookArg(arg)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(pb.Clouds, cloud) {
		return nil, &usageError{msg: fmt.Sprintf("playbook %s is for %s, not %s", pb.ID, strings.Join(pb.Clouds, ", "), cloud)}
	}
	return pb, nil
}

// firstNonEmpty returns the first non-empty value.
func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// isLoopback reports whether an endpoint URL's host is this machine, where
// 'firedrill sim serve' listens.
func isLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// resolveTarget turns flags and environment into a provider target. It
// makes no network call.
func resolveTarget(o *respondOptions) (*respondTarget, error) {
	env := o.Getenv
	t := &respondTarget{Target: providers.Target{Cloud: o.Cloud, Account: o.Account, Region: o.Region, Endpoint: o.Endpoint, Profile: o.Profile}}
	id, secret := o.AccessKeyID, o.SecretAccessKey
	// 'firedrill sim serve' prints the demo environment's evidence bucket.
	o.EvidenceBucket = firstNonEmpty(o.EvidenceBucket, env("FIREDRILL_"+strings.ToUpper(o.Cloud)+"_EVIDENCE_BUCKET"))
	switch o.Cloud {
	case providers.CloudAWS:
		t.Target.Endpoint = firstNonEmpty(t.Target.Endpoint, env("AWS_ENDPOINT_URL"))
		t.Target.Region = firstNonEmpty(t.Target.Region, env("AWS_REGION"), env("AWS_DEFAULT_REGION"))
		if t.Target.Endpoint != "" && id == "" && secret == "" {
			id, secret = env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")
			o.SessionToken = firstNonEmpty(o.SessionToken, env("AWS_SESSION_TOKEN"))
			t.CredsFrom = "AWS_ACCESS_KEY_ID"
		}
	case providers.CloudAzure:
		t.Target.Endpoint = firstNonEmpty(t.Target.Endpoint, env("FIREDRILL_AZURE_ENDPOINT"))
		t.Target.Account = firstNonEmpty(t.Target.Account, env("AZURE_SUBSCRIPTION_ID"))
		if t.Target.Account == "" {
			return nil, &usageError{msg: "--account: the Azure subscription id is required (or set AZURE_SUBSCRIPTION_ID)"}
		}
		tenant := firstNonEmpty(o.Tenant, env("AZURE_TENANT_ID"))
		if tenant != "" {
			t.azureOpts = append(t.azureOpts, provazure.WithTenant(tenant))
		}
		if t.Target.Endpoint != "" {
			if id == "" && secret == "" {
				id, secret = env("AZURE_CLIENT_ID"), env("AZURE_CLIENT_SECRET")
				t.CredsFrom = "AZURE_CLIENT_ID"
			}
			if tenant == "" {
				return nil, &usageError{msg: "--tenant: static Azure credentials need the Entra ID tenant (or set AZURE_TENANT_ID)"}
			}
			if ca := firstNonEmpty(o.CAFile, env("FIREDRILL_AZURE_CA")); ca != "" {
				pem, err := os.ReadFile(ca)
				if err != nil {
					return nil, &usageError{msg: fmt.Sprintf("--ca-file: %v", err)}
				}
				hc, err := provazure.SimHTTPClient(pem, nil)
				if err != nil {
					return nil, &usageError{msg: fmt.Sprintf("--ca-file %s: %v", ca, err)}
				}
				t.Target.HTTPClient = hc
			}
		} else if o.CAFile != "" {
			return nil, &usageError{msg: "--ca-file is for the simulator; it needs --endpoint"}
		}
	case providers.CloudGCP:
		t.Target.Endpoint = firstNonEmpty(t.Target.Endpoint, env("FIREDRILL_GCP_ENDPOINT"))
		t.Target.Account = firstNonEmpty(t.Target.Account, env("GOOGLE_CLOUD_PROJECT"), env("CLOUDSDK_CORE_PROJECT"))
		if t.Target.Account == "" {
			return nil, &usageError{msg: "--account: the GCP project id is required (or set GOOGLE_CLOUD_PROJECT)"}
		}
		if t.Target.Endpoint != "" && secret == "" {
			// Prefer the key file (the responder's service account) to the
			// admin's static token.
			if kf := env("GOOGLE_APPLICATION_CREDENTIALS"); kf != "" {
				b, err := os.ReadFile(kf)
				if err != nil {
					return nil, &usageError{msg: fmt.Sprintf("GOOGLE_APPLICATION_CREDENTIALS: %v", err)}
				}
				t.gcpOpts = append(t.gcpOpts, provgcp.WithCredentialsJSON(b))
				t.CredsFrom = "GOOGLE_APPLICATION_CREDENTIALS"
			} else if tok := env("FIREDRILL_GCP_TOKEN"); tok != "" {
				secret = tok
				t.CredsFrom = "FIREDRILL_GCP_TOKEN"
			} else {
				return nil, &usageError{msg: "the GCP endpoint " + t.Target.Endpoint + " needs credentials: --secret-access-key TOKEN, FIREDRILL_GCP_TOKEN or GOOGLE_APPLICATION_CREDENTIALS"}
			}
		}
		if secret != "" && id == "" {
			id = "static-token" // the principal is only named in evidence records
		}
	case "":
		return nil, &usageError{msg: "--cloud is required: aws, azure or gcp"}
	default:
		return nil, &usageError{msg: fmt.Sprintf("--cloud %q: expected aws, azure or gcp", o.Cloud)}
	}
	if id != "" || secret != "" {
		if t.Target.Endpoint == "" {
			return nil, &usageError{msg: "--access-key-id/--secret-access-key are for --endpoint (the simulator); live targets use the cloud's default credential chain (--profile, environment, SSO, managed identity, ADC)"}
		}
		if id == "" || secret == "" {
			return nil, &usageError{msg: "static credentials need both --access-key-id and --secret-access-key"}
		}
		t.Target.Credentials = &providers.StaticCredentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: o.SessionToken}
		if t.CredsFrom == "" {
			t.CredsFrom = "flags"
		}
	}
	if t.Target.Endpoint != "" && o.Profile != "" {
		return nil, &usageError{msg: "--profile is for live targets; with --endpoint give static credentials"}
	}
	if t.CredsFrom == "" {
		t.CredsFrom = "default chain"
		if o.Profile != "" {
			t.CredsFrom = "profile " + o.Profile
		}
	}
	if err := t.Target.Validate(); err != nil {
		var te *providers.TargetError
		if errors.As(err, &te) {
			return nil, &usageError{msg: targetFlagError(te)}
		}
		return nil, err
	}
	t.Simulator = t.Target.Endpoint != "" && isLoopback(t.Target.Endpoint)
	return t, nil
}

// targetFlagError names the flag behind a target field.
func targetFlagError(te *providers.TargetError) string {
	flag := map[string]string{"Cloud": "--cloud", "Region": "--region", "Account": "--account", "Endpoint": "--endpoint",
		"Profile": "--profile", "Credentials.AccessKeyID": "--access-key-id", "Credentials.SecretAccessKey": "--secret-access-key"}[te.Field]
	if flag == "" {
		return te.Error()
	}
	return flag + ": " + te.Problem
}

func runRespond(ctx context.Context, o *respondOptions) error {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if err := checkOutput(o.Output, outTable, outJSON); err != nil {
		return err
	}
	if o.Yes && !o.Execute {
		return &usageError{msg: "--yes confirms --execute; without --execute nothing is changed and there is nothing to confirm"}
	}
	if o.PollInterval < 0 {
		return &usageError{msg: "--poll-interval must not be negative"}
	}
	tgt, err := resolveTarget(o)
	if err != nil {
		return err
	}
	if o.Resource == "" {
		return &usageError{msg: "--resource is required: the id of the VM to respond on"}
	}
	pb, err := resolvePlaybook(o.Playbook, o.Cloud)
	if err != nil {
		return err
	}
	// A live target needs a human's yes; refuse before any call when nobody
	// can give it.
	needConfirm := o.Execute && !tgt.Simulator && !o.Yes
	if needConfirm && !o.Interactive {
		return &usageError{msg: fmt.Sprintf("refusing to --execute against %s (not the simulator) without confirmation: "+
			"stdin is not a terminal; rerun with --yes after reviewing the dry run", describeTarget(tgt.Target, o.Resource))}
	}

	prov, closeProv, err := buildProvider(ctx, tgt, o.PollInterval)
	if err != nil {
		var te *providers.TargetError
		if errors.As(err, &te) {
			return &usageError{msg: targetFlagError(te)}
		}
		return fmt.Errorf("building the %s provider: %w", o.Cloud, err)
	}
	defer closeProv()
	if _, stores := prov.(providers.EvidenceStore); o.Execute && o.EvidenceBucket == "" && stores {
		return &usageError{msg: fmt.Sprintf("--evidence-bucket is required with --execute on %s: command output, memory images and audit extracts are stored there (use an object-lock bucket)", o.Cloud)}
	}

	// Read-only: who are we, and does the resource exist?
	caller, err := verifyCredentials(ctx, prov)
	if err != nil {
		var te *providers.TargetError
		if errors.As(err, &te) {
			return &usageError{msg: targetFlagError(te)}
		}
		return fmt.Errorf("verifying %s credentials (%s): %w", o.Cloud, tgt.CredsFrom, err)
	}
	comp, ok := prov.(providers.InstanceDescriber)
	if !ok {
		return fmt.Errorf("the %s provider cannot describe instances", o.Cloud)
	}
	inst, err := comp.DescribeInstance(ctx, o.Resource)
	if err != nil {
		if errors.Is(err, providers.ErrNotFound) || errors.Is(err, providers.ErrInvalid) {
			return &usageError{msg: fmt.Sprintf("--resource %s: %v (nothing was changed)", o.Resource, err)}
		}
		return fmt.Errorf("describing %s: %w", o.Resource, err)
	}
	account := firstNonEmpty(caller.Account, tgt.Target.Account, inst.Account)
	region := firstNonEmpty(inst.Region, tgt.Target.Region)
	plan := buildRespondPlan(pb, prov, inst, o.Resource)
	plan.Cloud, plan.Account, plan.Region, plan.Endpoint = o.Cloud, account, region, tgt.Target.Endpoint
	plan.Caller, plan.Credentials, plan.Simulator = firstNonEmpty(caller.ARN, caller.UserID), tgt.CredsFrom, tgt.Simulator

	if !o.Execute {
		if err := writeRespondPlan(o, plan); err != nil {
			return err
		}
		fmt.Fprintf(o.ErrOut, "\ndry run: nothing was changed on %s (only read calls: credentials and describe).\n", describeTarget(tgt.Target, o.Resource))
		fmt.Fprintf(o.ErrOut, "To execute this plan, rerun the same command with --execute%s.\n", executeHint(o, prov, tgt))
		return nil
	}

	if needConfirm {
		ok, err := confirm(o, account, region, pb)
		if err != nil {
			return err
		}
		if !ok {
			return &usageError{msg: "not confirmed: nothing was changed"}
		}
	}
	var clk clock.Clock = clock.NewReal(uint64(time.Now().UnixNano()))
	if tgt.Simulator {
		live, err := liveClock(ctx, tgt.Target, uint64(time.Now().UnixNano()))
		if err != nil {
			return err
		}
		if live != nil {
			clk = live
			fmt.Fprintf(o.ErrOut, "the simulator plays a scenario live: acting on its clock (%s)\n", clk.Now().UTC().Format(time.RFC3339))
		}
	}
	return executeRespond(ctx, o, clk, prov, pb, plan)
}

// executeHint lists the flags an --execute run will also need.
func executeHint(o *respondOptions, prov providers.Provider, tgt *respondTarget) string {
	var more []string
	if _, stores := prov.(providers.EvidenceStore); o.EvidenceBucket == "" && stores {
		more = append(more, "--evidence-bucket BUCKET")
	}
	if !tgt.Simulator {
		more = append(more, "(you will be asked to confirm; --yes skips the question)")
	}
	if len(more) == 0 {
		return ""
	}
	return " " + strings.Join(more, " ")
}

func describeTarget(t providers.Target, resource string) string {
	s := fmt.Sprintf("%s resource %s", t.Cloud, resource)
	if t.Account != "" {
		s += " in account " + t.Account
	}
	if t.Region != "" {
		s += " region " + t.Region
	}
	if t.Endpoint != "" {
		s += " at " + t.Endpoint
	}
	return s
}

// verifyCredentials checks the credentials with a read-only identity call
// (and, on AWS, that they belong to --account).
func verifyCredentials(ctx context.Context, prov providers.Provider) (*providers.CallerIdentity, error) {
	if v, ok := prov.(interface{ Verify(context.Context) error }); ok {
		if err := v.Verify(ctx); err != nil {
			return nil, err
		}
	}
	id, ok := prov.(providers.CallerIdentifier)
	if !ok {
		return &providers.CallerIdentity{}, nil
	}
	c, err := id.CallerIdentity(ctx)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// confirm asks the operator at a terminal to confirm the target.
func confirm(o *respondOptions, account, region string, pb *responder.Playbook) (bool, error) {
	fmt.Fprintf(o.ErrOut, "\nAbout to EXECUTE playbook %s, which CHANGES the cloud:\n  cloud     %s\n  account   %s\n  region    %s\n  resource  %s\n",
		pb.ID, o.Cloud, dashIfEmpty(account), dashIfEmpty(region), o.Resource)
	fmt.Fprintf(o.ErrOut, "Type the resource id (%s) to proceed, anything else to abort: ", o.Resource)
	line, err := bufio.NewReader(o.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading the confirmation: %w", err)
	}
	return strings.TrimSpace(line) == o.Resource, nil
}

// ---- the plan -------------------------------------------------------------

// respondStep is one line of the plan for this resource and cloud.
type respondStep struct {
	plannedStepView
	// Skip says why the step would not run here ("" if it would).
	Skip string `json:"skip,omitempty"`
}

// respondDecision is a decision node and what automation would answer.
type respondDecision struct {
	ID        string `json:"id"`
	Question  string `json:"question"`
	Predicate string `json:"predicate"`
	Yes       string `json:"yes"`
	No        string `json:"no"`
	// Automated is "yes", "no", "unknown" (the facts do not say) or
	// "not reached" (another branch was taken).
	Automated string `json:"automated"`
	Next      string `json:"next,omitempty"`
	Error     string `json:"error,omitempty"`
}

// respondInstance is what the describe found.
type respondInstance struct {
	ID               string            `json:"id"`
	Name             string            `json:"name,omitempty"`
	State            string            `json:"state"`
	Type             string            `json:"type,omitempty"`
	Zone             string            `json:"zone,omitempty"`
	PrivateIP        string            `json:"private_ip,omitempty"`
	PublicIP         string            `json:"public_ip,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	NICs             []providers.NIC   `json:"nics"`
	Disks            []providers.Disk  `json:"disks"`
	Identity         string            `json:"identity,omitempty"`
	ScalingGroup     string            `json:"scaling_group,omitempty"`
	ScaleInProtected bool              `json:"scale_in_protected"`
	TermProtected    bool              `json:"termination_protected"`
	Warnings         []string          `json:"warnings,omitempty"`
}

// respondPlan is the dry-run document (--output json).
type respondPlan struct {
	DryRun      bool              `json:"dry_run"`
	Cloud       string            `json:"cloud"`
	Account     string            `json:"account,omitempty"`
	Region      string            `json:"region,omitempty"`
	Endpoint    string            `json:"endpoint,omitempty"`
	Simulator   bool              `json:"simulator"`
	Caller      string            `json:"caller,omitempty"`
	Credentials string            `json:"credentials"`
	Resource    string            `json:"resource"`
	Instance    respondInstance   `json:"instance"`
	Playbook    string            `json:"playbook"`
	Title       string            `json:"title"`
	Steps       []respondStep     `json:"steps"`
	Decisions   []respondDecision `json:"decisions"`
	// Outcome is the leaf automation would reach ("" if it cannot tell).
	Outcome string `json:"outcome,omitempty"`
}

// planFacts are the facts the responder would hold when it reaches the
// decision tree: the trigger, the cloud and its capabilities, and
// facts.instance as describe_instance records it.
func planFacts(prov providers.Provider, inst *providers.Instance, resource string) map[string]any {
	facts := responder.InstanceFacts(inst)
	res := map[string]any{"cloud": prov.Cloud(), "kind": string(providers.KindVM), "id": resource}
	for k, v := range facts {
		res[k] = v
	}
	return map[string]any{
		"resource":     res,
		"cloud":        prov.Cloud(),
		"capabilities": responder.CapabilityFacts(prov),
		"trigger": map[string]any{"kind": responder.TriggerManual, "type": "manual", "resource": resource,
			"resource_kind": string(providers.KindVM), "finding_id": "", "access_key_id": "", "severity": 0.0},
		"steps":    map[string]any{},
		"instance": facts,
	}
}

// buildRespondPlan lays the playbook out for this resource on this cloud.
func buildRespondPlan(pb *responder.Playbook, prov providers.Provider, inst *providers.Instance, resource string) *respondPlan {
	plan := &respondPlan{DryRun: true, Resource: resource, Playbook: pb.ID, Title: pb.Title, Steps: []respondStep{}, Decisions: []respondDecision{},
		Instance: respondInstance{ID: inst.ID, Name: inst.Name, State: inst.State, Type: inst.Type, Zone: inst.Zone,
			PrivateIP: inst.PrivateIP, PublicIP: inst.PublicIP, Tags: inst.Tags, NICs: inst.NICs, Disks: inst.Disks,
			ScalingGroup: inst.ScalingGroup, ScaleInProtected: inst.ScaleInProtected, TermProtected: inst.TerminationProtected,
			Warnings: inst.Warnings}}
	if plan.Instance.NICs == nil {
		plan.Instance.NICs = []providers.NIC{}
	}
	if plan.Instance.Disks == nil {
		plan.Instance.Disks = []providers.Disk{}
	}
	if id := inst.Identity; id != nil {
		plan.Instance.Identity = firstNonEmpty(id.RoleARN, id.RoleName, id.ProfileARN)
	}

	// The decision tree, walked with the described facts.
	facts := planFacts(prov, inst, resource)
	nodes := map[string]responder.DecisionNode{}
	for _, d := range pb.Decisions {
		nodes[d.ID] = d
	}
	reached := map[string]respondDecision{}
	if len(pb.Decisions) > 0 {
		cur := pb.Decisions[0].ID
		for guard := 0; guard <= len(pb.Decisions); guard++ {
			node, ok := nodes[cur]
			if !ok {
				plan.Outcome = cur
				break
			}
			d := respondDecision{ID: node.ID, Question: node.Question, Predicate: node.Predicate, Yes: node.Yes, No: node.No}
			ans, err := responder.EvalPredicate(node.Predicate, facts)
			if err != nil {
				d.Automated, d.Error = "unknown", err.Error()
				reached[node.ID] = d
				break
			}
			d.Automated, d.Next = "no", node.No
			if ans {
				d.Automated, d.Next = "yes", node.Yes
			}
			reached[node.ID] = d
			cur = d.Next
		}
	}
	for _, n := range pb.Decisions {
		d, ok := reached[n.ID]
		if !ok {
			d = respondDecision{ID: n.ID, Question: n.Question, Predicate: n.Predicate, Yes: n.Yes, No: n.No, Automated: "not reached"}
		}
		plan.Decisions = append(plan.Decisions, d)
	}

	// Steps, with why each would be skipped on this cloud.
	byID := map[string]*responder.Step{}
	for _, s := range pb.Steps() {
		byID[s.ID] = s
	}
	skip := map[string]string{}
	for _, ps := range responder.Plan(pb) {
		if ps.Phase == responder.PhaseDecision {
			continue
		}
		st := respondStep{plannedStepView: plannedStepView(ps)}
		s := byID[ps.ID]
		switch {
		case s != nil && len(s.Clouds) > 0 && !slices.Contains(s.Clouds, prov.Cloud()):
			st.Skip = fmt.Sprintf("cloud-specific step for %s", strings.Join(s.Clouds, ", "))
		default:
			for _, n := range ps.Needs {
				if why := skip[n]; why != "" {
					st.Skip = fmt.Sprintf("needs %s, which would be skipped", n)
					break
				}
			}
		}
		if st.Skip == "" && len(ps.When) > 0 && plan.Outcome != "" && !slices.Contains(ps.When, plan.Outcome) {
			st.Skip = fmt.Sprintf("decision outcome would be %s; runs when %s", plan.Outcome, strings.Join(ps.When, " or "))
		}
		if st.Skip == "" && s != nil {
			if act, why := responder.StepOn(s, prov); why != "" {
				st.Skip = why
			} else if act != s.Action {
				st.Action = act + " (fallback for " + s.Action + ")"
			}
		}
		skip[ps.ID] = st.Skip
		plan.Steps = append(plan.Steps, st)
	}
	return plan
}

func writeRespondPlan(o *respondOptions, plan *respondPlan) error {
	if o.Output == outJSON {
		return writeJSON(o.Out, plan)
	}
	w := o.Out
	fmt.Fprintf(w, "DRY RUN: nothing is changed\n\n")
	tw := newTable(w)
	fmt.Fprintf(tw, "target\t%s account %s region %s\n", plan.Cloud, dashIfEmpty(plan.Account), dashIfEmpty(plan.Region))
	if plan.Endpoint != "" {
		kind := "endpoint override"
		if plan.Simulator {
			kind = "simulator"
		}
		fmt.Fprintf(tw, "endpoint\t%s (%s)\n", plan.Endpoint, kind)
	}
	fmt.Fprintf(tw, "caller\t%s (%s)\n", dashIfEmpty(plan.Caller), plan.Credentials)
	in := plan.Instance
	fmt.Fprintf(tw, "resource\t%s  %s  %s  %s\n", plan.Resource, dashIfEmpty(in.Name), dashIfEmpty(in.State), dashIfEmpty(in.Type))
	for _, n := range in.NICs {
		fmt.Fprintf(tw, "  interface\t%s  %s  %s  groups %s\n", n.ID, dashIfEmpty(n.PrivateIP), dashIfEmpty(n.PublicIP), dashIfEmpty(strings.Join(n.Groups, ",")))
	}
	for _, d := range in.Disks {
		fmt.Fprintf(tw, "  disk\t%s  %s  %d GiB  delete-on-termination %v\n", d.ID, dashIfEmpty(d.Device), d.SizeGiB, d.DeleteOnTermination)
	}
	fmt.Fprintf(tw, "  identity\t%s\n", dashIfEmpty(in.Identity))
	fmt.Fprintf(tw, "  scaling group\t%s  scale-in protected %v  termination protected %v\n", dashIfEmpty(in.ScalingGroup), in.ScaleInProtected, in.TermProtected)
	var tags []string
	for _, k := range slices.Sorted(maps.Keys(in.Tags)) {
		tags = append(tags, k+"="+in.Tags[k])
	}
	fmt.Fprintf(tw, "  tags\t%s\n", dashIfEmpty(strings.Join(tags, " ")))
	for _, wn := range in.Warnings {
		fmt.Fprintf(tw, "  warning\t%s\n", wn)
	}
	if err := flush(tw, "the target"); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nplaybook %s: %s\n\ndecision tree (what automation would answer from the described facts)\n", plan.Playbook, plan.Title)
	tw = newTable(w)
	fmt.Fprintf(tw, "  NODE\tQUESTION\tAUTOMATED\tNEXT\tPREDICATE\n")
	for _, d := range plan.Decisions {
		ans := d.Automated
		if d.Error != "" {
			ans += " (" + d.Error + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", d.ID, d.Question, ans, dashIfEmpty(d.Next), d.Predicate)
	}
	if err := flush(tw, "the decision tree"); err != nil {
		return err
	}
	if plan.Outcome != "" {
		fmt.Fprintf(w, "  outcome: %s\n", plan.Outcome)
	} else if len(plan.Decisions) > 0 {
		fmt.Fprintf(w, "  outcome: cannot tell from the described facts; steps with when: are decided at run time\n")
	}

	fmt.Fprintf(w, "\nresponse plan (waves run in order; steps of one wave run in parallel)\n")
	tw = newTable(w)
	fmt.Fprintf(tw, "  WAVE\tPHASE\tSTEP\tACTION\tEFFECT\tDEPENDS ON\tWHEN\tON %s\n", strings.ToUpper(plan.Cloud))
	changes := 0
	for _, s := range plan.Steps {
		effect := "read"
		if s.Mutates {
			effect = "CHANGE"
		}
		var deps []string
		deps = append(deps, s.Needs...)
		for _, a := range s.After {
			deps = append(deps, a+" (after)")
		}
		here := "runs"
		if s.Skip != "" {
			here = "skipped: " + s.Skip
		} else if s.Mutates {
			changes++
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Order, s.Phase, s.ID, s.Action, effect,
			dashIfEmpty(strings.Join(deps, ",")), dashIfEmpty(strings.Join(s.When, "|")), here)
	}
	if err := flush(tw, "the response plan"); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n--execute would run %d step(s) that CHANGE %s.\n", changes, plan.Resource)
	return nil
}

// ---- execution --------------------------------------------------------------

// caseSummary is the case record printed after --execute.
type caseSummary struct {
	Case        string                        `json:"case"`
	Playbook    string                        `json:"playbook"`
	Cloud       string                        `json:"cloud"`
	Account     string                        `json:"account,omitempty"`
	Region      string                        `json:"region,omitempty"`
	Resource    string                        `json:"resource"`
	StartedAt   time.Time                     `json:"started_at"`
	EndedAt     time.Time                     `json:"ended_at"`
	Outcome     string                        `json:"outcome,omitempty"`
	Contained   bool                          `json:"contained"`
	ContainedAt *time.Time                    `json:"contained_at,omitempty"`
	Failed      []string                      `json:"failed_steps"`
	Steps       []caseStep                    `json:"steps"`
	Decisions   []responder.DecisionRecord    `json:"decisions"`
	Evidence    []responder.EvidenceRecord    `json:"evidence"`
	Notify      []responder.Notification      `json:"notifications"`
	Remediation []responder.RemediationStatus `json:"remediation"`
}

// caseStep is one step's outcome.
type caseStep struct {
	ID       string `json:"id"`
	Phase    string `json:"phase"`
	Action   string `json:"action"`
	Status   string `json:"status"`
	Attempts int    `json:"attempts,omitempty"`
	Duration string `json:"duration,omitempty"`
	Error    string `json:"error,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Output   string `json:"output,omitempty"`
}

// progressPrinter streams timeline events to stderr, one line each.
type progressPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
}

func (p *progressPrinter) event(e timeline.Event) {
	mark, col := "·", ""
	switch e.Kind {
	case timeline.StepFinish, timeline.Contained:
		mark, col = "✓", "\x1b[32m"
	case timeline.StepError:
		mark, col = "✗", "\x1b[31m"
	case timeline.StepRetry:
		mark, col = "↻", "\x1b[33m"
	case timeline.StepSkip:
		mark, col = "-", "\x1b[2m"
	case timeline.Decision:
		mark, col = "?", "\x1b[36m"
	case timeline.Evidence:
		mark, col = "+", "\x1b[34m"
	}
	line := fmt.Sprintf("%s %s %-12s %s", e.At.UTC().Format("15:04:05"), mark, e.Kind, e.Name)
	if e.Message != "" {
		line += ": " + e.Message
	}
	if p.color && col != "" {
		line = col + line + "\x1b[0m"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, line)
}

func executeRespond(ctx context.Context, o *respondOptions, clk clock.Clock, prov providers.Provider, pb *responder.Playbook, plan *respondPlan) error {
	tl := timeline.New(clk)
	pp := &progressPrinter{w: o.ErrOut, color: o.Color}
	tl.Subscribe(pp.event)
	caseID := o.CaseID
	if caseID == "" {
		caseID = "case-" + pb.ID + "-" + clk.Now().UTC().Format("20060102T150405Z")
	}
	r, err := responder.New(responder.Options{Clock: clk, Timeline: tl, Provider: prov, Playbook: pb, CaseID: caseID,
		EvidenceBucket: o.EvidenceBucket})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.ErrOut, "executing playbook %s on %s %s (account %s, region %s) as case %s\n",
		pb.ID, plan.Cloud, o.Resource, dashIfEmpty(plan.Account), dashIfEmpty(plan.Region), caseID)
	c, rerr := r.Respond(ctx, responder.Trigger{Kind: responder.TriggerManual, Type: "manual",
		Resource: providers.Ref(o.Cloud, providers.KindVM, o.Resource), At: clk.Now()})
	if c == nil {
		return fmt.Errorf("responding on %s: %w", o.Resource, rerr)
	}
	sum := summarizeCase(c, plan)
	if o.Output == outJSON {
		if err := writeJSON(o.Out, sum); err != nil {
			return err
		}
	} else if err := writeCaseTable(o.Out, sum); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("case %s interrupted: %w", c.ID, ctx.Err())
	}
	if !c.Contained {
		var bad []string
		for _, s := range sum.Steps {
			if s.Phase == responder.PhaseContainment && (s.Status == responder.StatusFailed ||
				(s.Status == responder.StatusSkipped && strings.HasPrefix(s.Reason, "needs "))) {
				bad = append(bad, s.ID)
			}
		}
		if len(bad) > 0 || rerr == nil {
			return &exitError{code: exitDrillFails, msg: fmt.Sprintf("case %s: %s is NOT contained: containment step(s) failed: %s",
				c.ID, o.Resource, dashIfEmpty(strings.Join(bad, ", ")))}
		}
		return fmt.Errorf("case %s: %s is NOT contained: %w", c.ID, o.Resource, rerr)
	}
	if rerr != nil {
		fmt.Fprintf(o.ErrOut, "warning: %s contained, but %v\n", o.Resource, rerr)
	}
	fmt.Fprintf(o.ErrOut, "case %s: %s contained at %s (outcome %s)\n", c.ID, o.Resource, c.ContainedAt.UTC().Format(time.RFC3339), dashIfEmpty(c.Outcome))
	return nil
}

func summarizeCase(c *responder.Case, plan *respondPlan) caseSummary {
	s := caseSummary{Case: c.ID, Playbook: c.Playbook, Cloud: plan.Cloud, Account: plan.Account, Region: plan.Region, Resource: c.Resource,
		StartedAt: c.StartedAt.UTC(), EndedAt: c.EndedAt.UTC(), Outcome: c.Outcome, Contained: c.Contained, Failed: c.Failed(),
		Steps: []caseStep{}, Decisions: c.Decisions(), Evidence: c.Evidence(), Notify: c.Notifications(), Remediation: c.Remediation()}
	if c.Contained {
		t := c.ContainedAt.UTC()
		s.ContainedAt = &t
	}
	if s.Failed == nil {
		s.Failed = []string{}
	}
	for _, rec := range c.Steps() {
		st := caseStep{ID: rec.ID, Phase: rec.Phase, Action: rec.Action, Status: rec.Status, Attempts: rec.Attempts,
			Error: rec.Error, Reason: rec.Reason}
		if rec.Status != responder.StatusSkipped {
			st.Duration = rec.FinishedAt.Sub(rec.StartedAt).Round(time.Millisecond).String()
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(rec.Output)) {
			if strings.HasPrefix(k, "_") {
				continue
			}
			v := fmt.Sprint(rec.Output[k])
			if len(v) > 60 {
				v = v[:57] + "..."
			}
			parts = append(parts, k+"="+v)
		}
		st.Output = strings.Join(parts, " ")
		s.Steps = append(s.Steps, st)
	}
	if s.Decisions == nil {
		s.Decisions = []responder.DecisionRecord{}
	}
	if s.Evidence == nil {
		s.Evidence = []responder.EvidenceRecord{}
	}
	if s.Notify == nil {
		s.Notify = []responder.Notification{}
	}
	if s.Remediation == nil {
		s.Remediation = []responder.RemediationStatus{}
	}
	return s
}

func writeCaseTable(w io.Writer, s caseSummary) error {
	contained := "NO"
	if s.Contained {
		contained = "yes, at " + s.ContainedAt.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "case %s  playbook %s  %s %s (account %s, region %s)\n", s.Case, s.Playbook, s.Cloud, s.Resource, dashIfEmpty(s.Account), dashIfEmpty(s.Region))
	fmt.Fprintf(w, "outcome %s  contained %s  took %s\n", dashIfEmpty(s.Outcome), contained, s.EndedAt.Sub(s.StartedAt).Round(time.Second))

	fmt.Fprintf(w, "\nsteps\n")
	tw := newTable(w)
	fmt.Fprintf(tw, "  STEP\tPHASE\tACTION\tSTATUS\tATTEMPTS\tTOOK\tDETAIL\n")
	for _, st := range s.Steps {
		detail := firstNonEmpty(st.Error, st.Reason, st.Output)
		if len(detail) > 100 {
			detail = detail[:97] + "..."
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\t%s\n", st.ID, st.Phase, st.Action, st.Status, st.Attempts, dashIfEmpty(st.Duration), dashIfEmpty(detail))
	}
	if err := flush(tw, "the steps"); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nevidence manifest\n")
	tw = newTable(w)
	fmt.Fprintf(tw, "  KIND\tID\tSOURCE\tSTATE\tSHA-256\tLOCATION\tRETAIN UNTIL\n")
	for _, e := range s.Evidence {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Kind, e.ID, dashIfEmpty(e.Source), dashIfEmpty(e.State), dashIfEmpty(e.SHA256),
			dashIfEmpty(e.Location), e.RetainUntil.UTC().Format("2006-01-02"))
	}
	if err := flush(tw, "the evidence manifest"); err != nil {
		return err
	}

	if len(s.Decisions) > 0 {
		fmt.Fprintf(w, "\ndecisions\n")
		tw = newTable(w)
		for _, d := range s.Decisions {
			ans := "no"
			if d.Answer {
				ans = "yes"
			}
			if d.Error != "" {
				ans = "error: " + d.Error
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t-> %s\t%s\n", d.Node, d.Question, ans, dashIfEmpty(d.Next), d.Inputs)
		}
		if err := flush(tw, "the decisions"); err != nil {
			return err
		}
	}

	fmt.Fprintf(w, "\nnotifications\n")
	tw = newTable(w)
	fmt.Fprintf(tw, "  ON\tTEMPLATE\tROLES\tSUBJECT\tLATE\n")
	for _, n := range s.Notify {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%v\n", n.On, n.Template, strings.Join(n.Roles, ","), n.Subject, n.Late)
	}
	if err := flush(tw, "the notifications"); err != nil {
		return err
	}

	if len(s.Remediation) > 0 {
		fmt.Fprintf(w, "\nremediation checklist\n")
		tw = newTable(w)
		for _, r := range s.Remediation {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Status, r.ID, r.Owner, r.Item)
		}
		if err := flush(tw, "the remediation checklist"); err != nil {
			return err
		}
	}
	return nil
}
