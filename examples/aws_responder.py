#!/usr/bin/env python3
"""An external responder for EC2 cryptomining, in plain boto3.

It is what a team's own automation might be, run against
`firedrill sim serve --scenario aws-ec2-cryptomining` to be scored (the same
script works on a real account). It polls GuardDuty, and on the first finding
about an instance:

  evidence     snapshots the instance's volumes (tagged) before anything else;
  containment  protects it from scale-in, isolates it in two steps (an
               allow-all group first, so tracked connections become untracked,
               then a group with no rules), removes its instance profile and
               revokes every session of its role issued before now (the only
               thing that kills credentials already stolen from it);
  eradication  keeps hunting in CloudTrail, in every region, for what the
               stolen role did: access keys it created (deactivated, then
               deleted) and instances it launched (terminated).

--naive only isolates the instance in one step, which is what many scripts
do and what the scenario is built to fail.

Configuration comes from the environment `sim serve` prints (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, ...). The clouds' time is read from the Date header of
their answers: a simulated clock runs faster than the wall clock.
"""

import argparse
import email.utils
import json
import os
import sys
import time

import boto3
import botocore.config
import botocore.exceptions

REVOKE_POLICY = "AWSRevokeOlderSessions"
REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"]


def log(*args):
    print("responder:", *args, file=sys.stderr, flush=True)


class Responder:
    def __init__(self, naive=False):
        self.naive = naive
        self.region = os.environ.get("AWS_REGION", "us-east-1")
        self.cfg = botocore.config.Config(retries={"max_attempts": 3, "mode": "standard"})
        self.clients = {}
        self.cloud_now = None
        self.role = None
        self.started = None  # the clouds' time of the first finding

    def client(self, service, region=None):
        key = (service, region or self.region)
        if key not in self.clients:
            c = boto3.client(service, region_name=key[1], config=self.cfg)
            c.meta.events.register("after-call", self._read_date)
            self.clients[key] = c
        return self.clients[key]

    def _read_date(self, http_response, **_):
        date = http_response.headers.get("Date") if http_response is not None else None
        if date:
            self.cloud_now = email.utils.parsedate_to_datetime(date)

    # --- detection --------------------------------------------------------

    def wait_for_finding(self, deadline):
        gd = self.client("guardduty")
        while time.time() < deadline:
            for det in gd.list_detectors()["DetectorIds"]:
                ids = gd.list_findings(DetectorId=det)["FindingIds"]
                if not ids:
                    continue
                for f in gd.get_findings(DetectorId=det, FindingIds=ids[:50])["Findings"]:
                    inst = f.get("Resource", {}).get("InstanceDetails", {}).get("InstanceId")
                    if inst:
                        log("finding", f["Type"], "on", inst)
                        return inst
            time.sleep(0.05)
        return None

    # --- containment ------------------------------------------------------

    def describe(self, instance_id):
        r = self.client("ec2").describe_instances(InstanceIds=[instance_id])
        return r["Reservations"][0]["Instances"][0]

    def snapshot(self, inst):
        ec2 = self.client("ec2")
        for bd in inst.get("BlockDeviceMappings", []):
            vol = bd["Ebs"]["VolumeId"]
            snap = ec2.create_snapshot(
                VolumeId=vol, Description="IR evidence of " + inst["InstanceId"],
                TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
                    {"Key": "incident", "Value": "cryptomining"}, {"Key": "source-instance", "Value": inst["InstanceId"]}]}])
            log("snapshot", snap["SnapshotId"], "of", vol)

    def protect(self, inst):
        tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
        group = tags.get("aws:autoscaling:groupName")
        if group:
            self.client("autoscaling").set_instance_protection(
                AutoScalingGroupName=group, InstanceIds=[inst["InstanceId"]], ProtectedFromScaleIn=True)
            log("protected from scale-in in", group)

    def isolation_groups(self, vpc):
        ec2 = self.client("ec2")
        allow = ec2.create_security_group(GroupName="ir-allow-all-" + vpc, Description="IR step 1", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=allow, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        deny = ec2.create_security_group(GroupName="ir-isolation-" + vpc, Description="IR isolation", VpcId=vpc)["GroupId"]
        ec2.revoke_security_group_egress(GroupId=deny, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        return allow, deny

    def isolate(self, inst):
        ec2 = self.client("ec2")
        allow, deny = self.isolation_groups(inst["VpcId"])
        for eni in inst.get("NetworkInterfaces", []):
            if not self.naive:
                ec2.modify_network_interface_attribute(NetworkInterfaceId=eni["NetworkInterfaceId"], Groups=[allow])
            ec2.modify_network_interface_attribute(NetworkInterfaceId=eni["NetworkInterfaceId"], Groups=[deny])
        log("isolated", inst["InstanceId"], "one step" if self.naive else "in two steps")

    def revoke_role(self, inst):
        prof = inst.get("IamInstanceProfile")
        if not prof:
            return
        iam = self.client("iam")
        name = prof["Arn"].split("/")[-1]
        roles = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
        ec2 = self.client("ec2")
        for a in ec2.describe_iam_instance_profile_associations(
                Filters=[{"Name": "instance-id", "Values": [inst["InstanceId"]]}])["IamInstanceProfileAssociations"]:
            ec2.disassociate_iam_instance_profile(AssociationId=a["AssociationId"])
        for role in roles:
            self.role = role["RoleName"]
            cut = (self.cloud_now or email.utils.parsedate_to_datetime(email.utils.formatdate(usegmt=True)))
            doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                   "Condition": {"DateLessThan": {"aws:TokenIssueTime": cut.strftime("%Y-%m-%dT%H:%M:%SZ")}}}]}
            iam.put_role_policy(RoleName=self.role, PolicyName=REVOKE_POLICY, PolicyDocument=json.dumps(doc))
            log("revoked sessions of", self.role, "issued before", cut.isoformat())

    # --- eradication ------------------------------------------------------

    def by_role(self, event):
        ident = json.loads(event.get("CloudTrailEvent", "{}")).get("userIdentity", {})
        return self.role is not None and ("role/" + self.role + "/") in ident.get("arn", "").replace("assumed-role", "role")

    def hunt(self):
        """Removes what the stolen role planted; returns how many things."""
        removed = 0
        ct = self.client("cloudtrail")
        iam = self.client("iam")
        for ev in ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateAccessKey"}])["Events"]:
            if not self.by_role(ev):
                continue
            for res in ev.get("Resources", []):
                if res.get("ResourceType") != "AWS::IAM::AccessKey":
                    continue
                key, user = res["ResourceName"], json.loads(ev["CloudTrailEvent"]).get("requestParameters", {}) or {}
                user = user.get("userName") or self.key_owner(key)
                try:
                    iam.update_access_key(UserName=user, AccessKeyId=key, Status="Inactive")
                    iam.delete_access_key(UserName=user, AccessKeyId=key)
                    log("deleted planted key", key, "of", user)
                    removed += 1
                except botocore.exceptions.ClientError as e:
                    if e.response["Error"]["Code"] != "NoSuchEntity":
                        raise
        for region in REGIONS:
            ct = self.client("cloudtrail", region)
            ids = []
            for ev in ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RunInstances"}])["Events"]:
                if self.by_role(ev):
                    ids += [r["ResourceName"] for r in ev.get("Resources", []) if r.get("ResourceType") == "AWS::EC2::Instance"]
            if not ids:
                continue
            ec2 = self.client("ec2", region)
            live = [i["InstanceId"] for r in ec2.describe_instances(
                Filters=[{"Name": "instance-id", "Values": ids}])["Reservations"]
                    for i in r["Instances"] if i["State"]["Name"] not in ("terminated", "shutting-down")]
            if live:
                ec2.terminate_instances(InstanceIds=live)
                log("terminated planted instances", ",".join(live), "in", region)
                removed += len(live)
        return removed

    def key_owner(self, key):
        iam = self.client("iam")
        for u in iam.list_users()["Users"]:
            for k in iam.list_access_keys(UserName=u["UserName"])["AccessKeyMetadata"]:
                if k["AccessKeyId"] == key:
                    return u["UserName"]
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--naive", action="store_true", help="only isolate the instance, in one step")
    p.add_argument("--wait", type=float, default=120, help="wall seconds to wait for a finding")
    p.add_argument("--hunt", type=float, default=20, help="wall seconds to keep hunting for planted things")
    args = p.parse_args()
    r = Responder(naive=args.naive)
    instance = r.wait_for_finding(time.time() + args.wait)
    if instance is None:
        log("no finding")
        return 1
    try:
        inst = r.describe(instance)
    except botocore.exceptions.ClientError as e:
        log("cannot describe", instance, e.response["Error"]["Code"], "(too late: scaled in?)")
        return 1
    if not args.naive:
        r.snapshot(inst)
        r.protect(inst)
    r.isolate(inst)
    if args.naive:
        return 0
    r.revoke_role(inst)
    end = time.time() + args.hunt
    while time.time() < end:
        r.hunt()
        time.sleep(0.2)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except botocore.exceptions.EndpointConnectionError:
        log("the simulated cloud stopped (the scenario ended)")
        sys.exit(0)
