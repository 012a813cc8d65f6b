package awssim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// SSM (awsJson1.1, target prefix AmazonSSM.): managed-instance inventory and
// Run Command. The agent's reachability (instance running, security groups
// allowing outbound HTTPS) decides PingStatus and whether a command is ever
// delivered; command progress and output are modelled in world/commands.go.

// ssmOutputLimit is how much of stdout GetCommandInvocation returns inline.
const ssmOutputLimit = 24000

// ssmAgentVersion is the agent version every simulated instance reports.
const ssmAgentVersion = "3.3.1142.0"

func ssmService() *Service {
	lastOnline := map[string]time.Time{} // instance -> last time seen online (guarded by the world lock)
	instanceARNs := func(c *Call) []string {
		var in struct{ InstanceIds []string }
		_ = json.Unmarshal(c.Body, &in) // a malformed body is reported by the handler
		out := []string{fmt.Sprintf("arn:aws:ssm:%s::document/AWS-RunShellScript", c.Region)}
		for _, id := range in.InstanceIds {
			out = append(out, fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", c.Region, c.Account(), id))
		}
		return out
	}
	return &Service{
		Name: "ssm", EventSource: "ssm.amazonaws.com", proto: awsJSON{},
		Ops: map[string]*Op{
			"DescribeInstanceInformation": {Handle: func(c *Call) (any, error) { return ssmDescribeInstanceInformation(c, lastOnline) }},
			"SendCommand":                 {Resources: instanceARNs, Handle: ssmSendCommand},
			"GetCommandInvocation":        {Handle: ssmGetCommandInvocation},
			"ListCommandInvocations":      {Handle: ssmListCommandInvocations},
		},
	}
}

// awsJSONDecode decodes an awsJson1.1 request body (SSM, CloudTrail); an
// empty body is an empty input.
func awsJSONDecode(c *Call, v any) error {
	if len(c.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Body, v); err != nil {
		return Errf(400, "SerializationException", "could not parse request body: %v", err)
	}
	return nil
}

// ssmPage decodes an offset NextToken bound to an operation.
func ssmPage(tok, op string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(raw), op+":"); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
				return n, nil
			}
		}
	}
	return 0, Errf(400, "InvalidNextToken", "The specified token isn't valid.")
}

func ssmToken(op string, n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(op + ":" + strconv.Itoa(n)))
}

func ssmDescribeInstanceInformation(c *Call, lastOnline map[string]time.Time) (any, error) {
	var in struct {
		InstanceInformationFilterList []struct {
			Key      string   `json:"key"`
			ValueSet []string `json:"valueSet"`
		}
		Filters []struct {
			Key    string
			Values []string
		}
		MaxResults *int
		NextToken  string
	}
	if err := awsJSONDecode(c, &in); err != nil {
		return nil, err
	}
	filters := map[string][]string{}
	for _, f := range in.InstanceInformationFilterList {
		filters[f.Key] = append(filters[f.Key], f.ValueSet...)
	}
	for _, f := range in.Filters {
		filters[f.Key] = append(filters[f.Key], f.Values...)
	}
	for k, vs := range filters {
		switch k {
		case "InstanceIds", "PingStatus", "PlatformTypes", "ResourceType", "AgentVersion":
		default:
			return nil, Errf(400, "InvalidInstanceInformationFilterValue", "The filter key %s is not supported.", k)
		}
		if len(vs) == 0 {
			return nil, Errf(400, "InvalidInstanceInformationFilterValue", "The filter %s needs at least one value.", k)
		}
	}
	max := 50
	if in.MaxResults != nil {
		if *in.MaxResults < 5 || *in.MaxResults > 50 {
			return nil, Errf(400, "ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 5 and 50", *in.MaxResults)
		}
		max = *in.MaxResults
	}
	off, err := ssmPage(in.NextToken, "dii")
	if err != nil {
		return nil, err
	}
	oneOf := func(key, v string) bool {
		vs, ok := filters[key]
		if !ok {
			return true
		}
		for _, x := range vs {
			if x == v {
				return true
			}
		}
		return false
	}
	var list []map[string]any
	for _, id := range c.World.Instances.Keys() {
		inst := c.World.Instances.Lookup(id)
		if !inst.SSMAgent || inst.Account != c.Account() || inst.Region != c.Region || inst.State == world.StateTerminated {
			continue
		}
		if c.Hidden(inst.LaunchTime) {
			continue
		}
		ping := "ConnectionLost"
		last := inst.LaunchTime
		if ok, _ := awsworld.Of(c.World).SSMReachable(inst); ok {
			ping = "Online"
			last = c.Now.Truncate(time.Minute)
			lastOnline[id] = last
		} else if t, ok := lastOnline[id]; ok {
			last = t
		}
		platform := inst.Platform
		if platform == "" {
			platform = "Linux"
		}
		if !oneOf("InstanceIds", id) || !oneOf("PingStatus", ping) || !oneOf("PlatformTypes", platform) ||
			!oneOf("ResourceType", "EC2Instance") || !oneOf("AgentVersion", ssmAgentVersion) {
			continue
		}
		info := map[string]any{
			"InstanceId": id, "PingStatus": ping, "LastPingDateTime": epochSeconds(last),
			"AgentVersion": ssmAgentVersion, "IsLatestVersion": true, "PlatformType": platform,
			"PlatformName": "Amazon Linux", "PlatformVersion": "2023", "ResourceType": "EC2Instance",
			"IPAddress": inst.PrivateIP, "ComputerName": ssmComputerName(inst),
		}
		if platform == "Windows" {
			info["PlatformName"], info["PlatformVersion"] = "Microsoft Windows Server 2022 Datacenter", "10.0.20348"
		}
		list = append(list, info)
	}
	out := map[string]any{"InstanceInformationList": []any{}}
	page := []any{}
	for i := off; i < len(list) && i < off+max; i++ {
		page = append(page, list[i])
	}
	out["InstanceInformationList"] = page
	if off+max < len(list) {
		out["NextToken"] = ssmToken("dii", off+max)
	}
	return out, nil
}

func ssmComputerName(inst *world.Instance) string {
	if inst.PrivateIP == "" {
		return inst.ID
	}
	return "ip-" + strings.ReplaceAll(inst.PrivateIP, ".", "-") + "." + inst.Region + ".compute.internal"
}

// ssmDocuments are the documents the simulator runs, with the platform each
// targets.
var ssmDocuments = map[string]string{"AWS-RunShellScript": "Linux", "AWS-RunPowerShellScript": "Windows"}

var instanceIDRe = regexp.MustCompile(`^(i|mi)-[0-9a-f]{8,17}$`)

func ssmSendCommand(c *Call) (any, error) {
	var in struct {
		DocumentName       string
		InstanceIds        []string
		Parameters         map[string][]string
		Comment            string
		TimeoutSeconds     *int
		OutputS3BucketName string
		OutputS3KeyPrefix  string
		OutputS3Region     string
		MaxConcurrency     string
		MaxErrors          string
	}
	if err := awsJSONDecode(c, &in); err != nil {
		return nil, err
	}
	doc := in.DocumentName
	if i := strings.LastIndex(doc, "document/"); i >= 0 {
		doc = doc[i+len("document/"):]
	}
	platform, ok := ssmDocuments[doc]
	if !ok {
		return nil, Errf(400, "InvalidDocument", "Document with name %s does not exist.", in.DocumentName)
	}
	c.Param("documentName", doc)
	if len(in.InstanceIds) == 0 {
		return nil, Errf(400, "ValidationException", "InstanceIds or Targets must be specified.")
	}
	if len(in.InstanceIds) > 50 {
		return nil, Errf(400, "ValidationException", "1 validation error detected: Member must have length less than or equal to 50 at 'instanceIds'")
	}
	if len(in.Parameters["commands"]) == 0 {
		return nil, Errf(400, "InvalidParameters", "Parameter \"commands\" is required.")
	}
	for k := range in.Parameters {
		if k != "commands" && k != "executionTimeout" && k != "workingDirectory" {
			return nil, Errf(400, "InvalidParameters", "Parameter %q is not defined in document %s.", k, doc)
		}
	}
	timeout := time.Hour
	if in.TimeoutSeconds != nil {
		if *in.TimeoutSeconds < 30 || *in.TimeoutSeconds > 2592000 {
			return nil, Errf(400, "ValidationException", "1 validation error detected: Value '%d' at 'timeoutSeconds' failed to satisfy constraint: Member must have value between 30 and 2592000", *in.TimeoutSeconds)
		}
		timeout = time.Duration(*in.TimeoutSeconds) * time.Second
	}
	var bad []string
	for _, id := range in.InstanceIds {
		inst := c.World.Instances.Lookup(id)
		if !instanceIDRe.MatchString(id) || inst == nil || !inst.SSMAgent || inst.Account != c.Account() ||
			inst.Region != c.Region || (inst.State != world.StateRunning && inst.State != world.StatePending) {
			bad = append(bad, id)
			continue
		}
		p := inst.Platform
		if p == "" {
			p = "Linux"
		}
		if p != platform {
			return nil, Errf(400, "UnsupportedPlatformType", "The document %s does not support the platform %s of instance %s.", doc, p, id)
		}
	}
	if len(bad) > 0 {
		return nil, Errf(400, "InvalidInstanceId", "Instances [%s] not in a valid state for account %s", strings.Join(bad, ", "), c.Account())
	}
	id := c.World.GUIDLocked()
	params := map[string][]string{}
	for k, v := range in.Parameters {
		params[k] = append([]string(nil), v...)
	}
	for _, iid := range in.InstanceIds {
		c.Touch("AWS::EC2::Instance", iid)
		awsworld.Of(c.World).SendCommand(awsworld.CommandSpec{ID: id, Document: doc, Instance: iid, Account: c.Account(),
			Region: c.Region, Params: params, Comment: in.Comment, OutputBucket: in.OutputS3BucketName,
			OutputPrefix: in.OutputS3KeyPrefix, DeliveryTimeout: timeout, RequestedBy: c.Caller.ARN})
	}
	c.Param("commandId", id)
	region := in.OutputS3Region
	if region == "" && in.OutputS3BucketName != "" {
		region = c.Region
	}
	maxConc, maxErr := in.MaxConcurrency, in.MaxErrors
	if maxConc == "" {
		maxConc = "50"
	}
	if maxErr == "" {
		maxErr = "0"
	}
	return map[string]any{"Command": map[string]any{
		"CommandId": id, "DocumentName": doc, "DocumentVersion": "$DEFAULT", "Comment": in.Comment,
		"ExpiresAfter": epochSeconds(c.Now.Add(timeout)), "Parameters": params, "InstanceIds": in.InstanceIds,
		"Targets": []any{}, "RequestedDateTime": epochSeconds(c.Now), "Status": "Pending", "StatusDetails": "Pending",
		"OutputS3Region": region, "OutputS3BucketName": in.OutputS3BucketName, "OutputS3KeyPrefix": in.OutputS3KeyPrefix,
		"MaxConcurrency": maxConc, "MaxErrors": maxErr, "TargetCount": len(in.InstanceIds), "CompletedCount": 0,
		"ErrorCount": 0, "DeliveryTimedOutCount": 0, "TimeoutSeconds": int(timeout / time.Second),
		"CloudWatchOutputConfig": map[string]any{"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false},
		"NotificationConfig":     map[string]any{"NotificationArn": "", "NotificationEvents": []any{}, "NotificationType": ""},
	}}, nil
}

// ssmInvocation finds the caller's invocation of a command on an instance.
func ssmInvocation(c *Call, commandID, instance string) (*awsworld.Command, error) {
	cmd := awsworld.Of(c.World).Commands.Lookup(awsworld.CommandKey(commandID, instance))
	if cmd == nil || cmd.Account != c.Account() || cmd.Region != c.Region {
		return nil, Errf(400, "InvocationDoesNotExist", "An invocation of command %s on instance %s does not exist.", commandID, instance)
	}
	return cmd, nil
}

func ssmOutputURL(cmd *awsworld.Command, stream string) string {
	if cmd.OutputBucket == "" || cmd.Status != awsworld.CmdSuccess && cmd.Status != awsworld.CmdFailed {
		return ""
	}
	key := cmd.ID + "/" + cmd.Instance + "/awsrunShellScript/0.awsrunShellScript/" + stream
	if cmd.OutputPrefix != "" {
		key = cmd.OutputPrefix + "/" + key
	}
	return fmt.Sprintf("https://s3.%s.amazonaws.com/%s/%s", cmd.Region, cmd.OutputBucket, key)
}

func ssmISO(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func truncateOutput(s string) string {
	if len(s) > ssmOutputLimit {
		return s[:ssmOutputLimit]
	}
	return s
}

func ssmGetCommandInvocation(c *Call) (any, error) {
	var in struct {
		CommandId, InstanceId, PluginName string
	}
	if err := awsJSONDecode(c, &in); err != nil {
		return nil, err
	}
	if len(in.CommandId) != 36 {
		return nil, Errf(400, "InvalidCommandId", "Command ID %q is not valid.", in.CommandId)
	}
	if in.PluginName != "" && in.PluginName != "aws:runShellScript" && in.PluginName != "aws:runPowerShellScript" {
		return nil, Errf(400, "InvalidPluginName", "The plugin name %s is not valid.", in.PluginName)
	}
	cmd, err := ssmInvocation(c, in.CommandId, in.InstanceId)
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::EC2::Instance", in.InstanceId)
	plugin := "aws:runShellScript"
	if cmd.Document == "AWS-RunPowerShellScript" {
		plugin = "aws:runPowerShellScript"
	}
	out := map[string]any{
		"CommandId": cmd.ID, "InstanceId": cmd.Instance, "Comment": cmd.Comment, "DocumentName": cmd.Document,
		"DocumentVersion": "$DEFAULT", "PluginName": plugin, "ResponseCode": cmd.ExitCode,
		"ExecutionStartDateTime": ssmISO(cmd.StartedAt), "ExecutionEndDateTime": "", "ExecutionElapsedTime": "",
		"Status": cmd.Status, "StatusDetails": cmd.StatusDetails,
		"StandardOutputContent": "", "StandardOutputUrl": ssmOutputURL(cmd, "stdout"),
		"StandardErrorContent": "", "StandardErrorUrl": "",
		"CloudWatchOutputConfig": map[string]any{"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false},
	}
	if !cmd.CompleteAt.IsZero() {
		out["ExecutionEndDateTime"] = ssmISO(cmd.CompleteAt)
		if !cmd.StartedAt.IsZero() {
			out["ExecutionElapsedTime"] = fmt.Sprintf("PT%.3fS", cmd.CompleteAt.Sub(cmd.StartedAt).Seconds())
		}
		out["StandardOutputContent"] = truncateOutput(cmd.Output)
		out["StandardErrorContent"] = truncateOutput(cmd.Error)
		if cmd.Error != "" {
			out["StandardErrorUrl"] = ssmOutputURL(cmd, "stderr")
		}
	}
	return out, nil
}

func ssmListCommandInvocations(c *Call) (any, error) {
	var in struct {
		CommandId, InstanceId, NextToken string
		MaxResults                       *int
		Details                          bool
	}
	if err := awsJSONDecode(c, &in); err != nil {
		return nil, err
	}
	max := 50
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, Errf(400, "ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50", *in.MaxResults)
		}
		max = *in.MaxResults
	}
	off, err := ssmPage(in.NextToken, "lci")
	if err != nil {
		return nil, err
	}
	var cmds []*awsworld.Command
	for _, k := range awsworld.Of(c.World).Commands.Keys() {
		cmd := awsworld.Of(c.World).Commands.Lookup(k)
		if cmd.Account != c.Account() || cmd.Region != c.Region ||
			(in.CommandId != "" && cmd.ID != in.CommandId) || (in.InstanceId != "" && cmd.Instance != in.InstanceId) {
			continue
		}
		cmds = append(cmds, cmd)
	}
	// Newest first, as SSM lists them; key order breaks ties.
	for i := 1; i < len(cmds); i++ {
		for j := i; j > 0 && cmds[j].RequestedAt.After(cmds[j-1].RequestedAt); j-- {
			cmds[j], cmds[j-1] = cmds[j-1], cmds[j]
		}
	}
	if in.CommandId != "" && len(cmds) == 0 {
		return nil, Errf(400, "InvalidCommandId", "Command %s does not exist.", in.CommandId)
	}
	page := []any{}
	for i := off; i < len(cmds) && i < off+max; i++ {
		cmd := cmds[i]
		inv := map[string]any{
			"CommandId": cmd.ID, "InstanceId": cmd.Instance, "Comment": cmd.Comment, "DocumentName": cmd.Document,
			"DocumentVersion": "$DEFAULT", "RequestedDateTime": epochSeconds(cmd.RequestedAt), "Status": cmd.Status,
			"StatusDetails": cmd.StatusDetails, "StandardOutputUrl": ssmOutputURL(cmd, "stdout"),
			"CommandPlugins": []any{},
		}
		if in.Details {
			p := map[string]any{"Name": "aws:runShellScript", "Status": cmd.Status, "StatusDetails": cmd.StatusDetails,
				"ResponseCode": cmd.ExitCode, "Output": truncateOutput(cmd.Output + cmd.Error),
				"StandardOutputUrl": ssmOutputURL(cmd, "stdout")}
			if !cmd.StartedAt.IsZero() {
				p["ResponseStartDateTime"] = epochSeconds(cmd.StartedAt)
			}
			if !cmd.CompleteAt.IsZero() {
				p["ResponseFinishDateTime"] = epochSeconds(cmd.CompleteAt)
			}
			inv["CommandPlugins"] = []any{p}
		}
		page = append(page, inv)
	}
	out := map[string]any{"CommandInvocations": page}
	if off+max < len(cmds) {
		out["NextToken"] = ssmToken("lci", off+max)
	}
	return out, nil
}
