package world

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"
)

// The guest: what runs on a VM as its run-command agents see it, whichever
// cloud's agent asks (SSM on AWS, Run Command on Azure). Output is derived
// from the world as it is when the command runs (processes, active flows),
// so evidence collected on the host is consistent with what happened.

// GuestShellLocked answers the handful of shell commands responders use for
// volatile evidence; anything else prints nothing.
func (w *World) GuestShellLocked(inst *Instance, line string, at time.Time) string {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return ""
	}
	cmd := fields[0]
	if cmd == "sudo" && len(fields) > 1 {
		cmd = fields[1]
		fields = fields[1:]
	}
	switch cmd {
	case "ps":
		return psOutput(inst)
	case "ss", "netstat":
		return w.socketsOutputLocked(inst)
	case "hostname":
		return hostName(inst) + "\n"
	case "whoami":
		return "root\n"
	case "uname":
		return "Linux " + hostName(inst) + " 6.1.115-126.197.amzn2023.x86_64 #1 SMP x86_64 GNU/Linux\n"
	case "date":
		return at.UTC().Format("Mon Jan _2 15:04:05 UTC 2006") + "\n"
	case "echo":
		return strings.Join(fields[1:], " ") + "\n"
	}
	return ""
}

func hostName(inst *Instance) string {
	if inst.PrivateIP == "" {
		return "localhost"
	}
	return "ip-" + strings.ReplaceAll(inst.PrivateIP, ".", "-")
}

// psOutput renders Instance.Processes as `ps aux` does.
func psOutput(inst *Instance) string {
	var b strings.Builder
	b.WriteString("USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n")
	procs := append([]Process(nil), inst.Processes...)
	sort.SliceStable(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
	for _, p := range procs {
		user := p.User
		if user == "" {
			user = "root"
		}
		fmt.Fprintf(&b, "%-10s %5d %4.1f %4.1f %6d %5d ?        Ssl  %s   0:00 %s\n",
			user, p.PID, p.CPU, 0.1+p.CPU/50, 10000+p.PID*7%90000, 2000+p.PID*13%40000,
			inst.LaunchTime.UTC().Format("15:04"), p.Command)
	}
	return b.String()
}

// socketsOutputLocked renders the instance's active flows as `ss -tunp`.
func (w *World) socketsOutputLocked(inst *Instance) string {
	var b strings.Builder
	b.WriteString("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n")
	for _, f := range w.Flows {
		if f.Instance != inst.ID || !f.Active() {
			continue
		}
		local := inst.PrivateIP
		if eni := w.ENIs.Lookup(f.ENI); eni != nil && eni.PrivateIP != "" {
			local = eni.PrivateIP
		}
		lport := f.LocalPort
		if lport == 0 {
			h := fnv.New32a()
			h.Write([]byte(f.ID))
			lport = 32768 + int(h.Sum32()%28232) // Linux ephemeral range
		}
		proto := f.Protocol
		if proto == "" {
			proto = "tcp"
		}
		state := "ESTAB"
		if proto == "udp" {
			state = "UNCONN"
		}
		fmt.Fprintf(&b, "%-5s %-6s 0      0      %s:%d %s:%d\n", proto, state, local, lport, f.RemoteIP, f.RemotePort)
	}
	return b.String()
}

// MemoryImage is deterministic pseudo-content for a memory capture: a LiME
// header naming the instance and time, the process table (the volatile state
// the image would hold), then filler derived from the instance and time.
func MemoryImage(inst *Instance, at time.Time, gib int) []byte {
	var b strings.Builder
	b.WriteString("EMiL") // LiME magic, little-endian 0x4C694D45
	fmt.Fprintf(&b, "\nfiredrill simulated memory image\ninstance: %s\ncaptured: %s\nmemory-gib: %d\n",
		inst.ID, at.UTC().Format(time.RFC3339), gib)
	b.WriteString("processes:\n")
	for _, p := range inst.Processes {
		fmt.Fprintf(&b, "  %d %s %s\n", p.PID, p.User, p.Command)
	}
	data := []byte(b.String())
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%d", inst.ID, at.UnixNano())
	x := h.Sum64()
	for i := 0; i < 512; i++ { // 4 KiB of xorshift filler
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		data = binary.LittleEndian.AppendUint64(data, x)
	}
	return data
}

// PutObjectAtLocked uploads an object as an agent on a VM does (run-command
// output, a memory image), through the storage model with its versioning
// rules, stamped with the modelled completion time at.
func (w *World) PutObjectAtLocked(bucket, key, contentType string, data []byte, at time.Time) error {
	v, err := w.PutObjectLocked(bucket, key, data, contentType, nil)
	if err != nil {
		return err
	}
	v.LastModified = at
	return nil
}
