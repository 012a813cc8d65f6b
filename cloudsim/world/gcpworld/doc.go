// Package gcpworld is the Google Cloud side of the simulated world:
// projects and their IAM policies, service accounts, their keys and tokens,
// VPC networks, subnetworks and firewall rules, Compute Engine VMs, disks,
// snapshots and managed instance groups.
//
// The state lives in the world's extension store (see Of), so the kernel in
// cloudsim/world stays provider-neutral and this package is the one place
// GCP behaviour is modelled. Every VM is also a kernel Instance, every disk a
// Volume and every snapshot a Snapshot under the same resource path, so that
// flows, CPU, processes, evidence accounting and detectors work across
// clouds. Everything here runs under the world lock: Of and every method of
// State must be called with the world locked.
package gcpworld
