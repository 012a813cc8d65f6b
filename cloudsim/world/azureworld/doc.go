// Package azureworld is the Azure side of the simulated world: the tenant,
// subscriptions and resource groups, Entra ID principals and their tokens,
// RBAC role definitions and assignments, management locks, VMs and their
// managed identities, managed disks, NSGs, NICs, virtual networks, scale
// sets, storage accounts, Run Command and ARM's asynchronous operations.
//
// Azure entities reuse the kernel's neutral types where they fit: a VM is an
// Instance, a managed disk a Volume, a NIC an ENI, a snapshot a Snapshot, a
// VNet a VPC, a blob container a Bucket named "<account>/<container>", a
// Defender alert a Finding, an Activity Log entry an AuditEvent with Cloud
// "azure". Their world IDs are the canonical ARM resource IDs, so a
// responder reads back exactly the IDs Azure would give. Everything only
// Azure has lives in State, kept in the world's extension store (see Of), so
// the kernel in cloudsim/world stays provider-neutral. Of and every method
// of State must be called with the world locked.
package azureworld
