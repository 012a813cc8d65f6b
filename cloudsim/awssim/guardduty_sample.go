package awssim

import (
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// gdSampleType is what a sample finding of a type looks like.
type gdSampleType struct {
	severity     float64
	resourceType string
	title        string
}

// gdSampleTypes are the finding types CreateSampleFindings makes samples
// of, the ones incident response drills on.
var gdSampleTypes = map[string]gdSampleType{
	"CryptoCurrency:EC2/BitcoinTool.B!DNS":                                 {8, "Instance", "Bitcoin-related domain name queried by EC2 instance i-99999999."},
	"CryptoCurrency:EC2/BitcoinTool.B":                                     {8, "Instance", "EC2 instance i-99999999 communicating with Bitcoin IP address."},
	"Backdoor:EC2/C&CActivity.B!DNS":                                       {8, "Instance", "Command and Control server domain name queried by EC2 instance i-99999999."},
	"UnauthorizedAccess:EC2/SSHBruteForce":                                 {2, "Instance", "198.51.100.0 is performing SSH brute force attacks against i-99999999."},
	"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS": {8, "AccessKey", "Credentials for instance role GeneratedFindingUserName used from external IP address."},
	"Recon:IAMUser/MaliciousIPCaller":                                      {5, "AccessKey", "API GeneratedFindingAPIName was invoked from a known malicious IP address 198.51.100.0."},
	"Stealth:IAMUser/CloudTrailLoggingDisabled":                            {2, "AccessKey", "AWS CloudTrail trail GeneratedFindingTrailName was disabled."},
	"Policy:S3/BucketBlockPublicAccessDisabled":                            {2, "S3Bucket", "Amazon S3 Block Public Access was disabled for S3 bucket GeneratedFindingS3Bucket."},
}

// gdCreateSampleFindings makes one sample finding per type asked for (every
// known type when none is), visible at once and marked as a sample
// (service.additionalInfo.sample) as GuardDuty marks them.
func gdCreateSampleFindings(c *Call) (any, error) {
	d, err := gdDetector(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		FindingTypes []string `json:"findingTypes"`
	}
	if err := gdDecode(c, &in); err != nil {
		return nil, err
	}
	types := in.FindingTypes
	if len(types) == 0 {
		types = world.SortedKeys(gdSampleTypes)
	}
	for _, typ := range types {
		if _, ok := gdSampleTypes[typ]; !ok {
			return nil, Errf(400, "BadRequestException", "The request is rejected because an invalid or out-of-range value is specified as an input parameter: findingTypes %s.", typ)
		}
	}
	for _, typ := range types {
		s := gdSampleTypes[typ]
		f := &world.Finding{Detector: d.ID, Account: d.Account, Region: d.Region, Type: typ, Severity: s.severity,
			Title: s.title, Description: s.title, ResourceType: s.resourceType, RemoteIP: "198.51.100.0",
			FirstSeen: c.Now, LastSeen: c.Now, CreatedAt: c.Now, Sample: true}
		switch s.resourceType {
		case "Instance":
			f.ResourceID = "i-99999999"
		case "AccessKey":
			f.AccessKeyID, f.ResourceID = "GeneratedFindingAccessKeyId", "GeneratedFindingAccessKeyId"
		default:
			f.ResourceID = "GeneratedFindingS3Bucket"
		}
		c.World.AddFindingLocked(f)
		c.Param("findingType", typ)
	}
	return map[string]any{}, nil
}
