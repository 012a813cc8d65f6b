package azuresim

import (
	"net/http"
	"strings"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

func (s *Server) nicJSON(eni *world.ENI, expandPIP bool) map[string]any {
	ipProps := map[string]any{"privateIPAddress": eni.PrivateIP, "privateIPAllocationMethod": "Dynamic",
		"privateIPAddressVersion": "IPv4", "primary": true, "provisioningState": "Succeeded",
		"subnet": map[string]any{"id": eni.Subnet}}
	if eni.PublicIP != "" {
		pip := map[string]any{"id": publicIPID(eni)}
		if expandPIP {
			pip["name"] = lastSeg(publicIPID(eni))
			pip["properties"] = map[string]any{"ipAddress": eni.PublicIP, "publicIPAllocationMethod": "Static",
				"publicIPAddressVersion": "IPv4", "provisioningState": "Succeeded"}
		}
		ipProps["publicIPAddress"] = pip
	}
	props := map[string]any{"provisioningState": "Succeeded", "resourceGuid": uniqueID(eni.ID),
		"ipConfigurations": []any{map[string]any{"id": eni.ID + "/ipConfigurations/ipconfig1", "name": "ipconfig1",
			"type": "Microsoft.Network/networkInterfaces/ipConfigurations", "properties": ipProps}},
		"macAddress": eni.MAC, "primary": true, "enableAcceleratedNetworking": false, "enableIPForwarding": false,
		"nicType": "Standard", "vnetEncryptionSupported": false}
	if len(eni.Groups) > 0 {
		props["networkSecurityGroup"] = map[string]any{"id": eni.Groups[0]}
	}
	if eni.Instance != "" {
		props["virtualMachine"] = map[string]any{"id": eni.Instance}
	}
	return map[string]any{"id": eni.ID, "name": lastSeg(eni.ID), "type": "Microsoft.Network/networkInterfaces",
		"location": eni.Region, "etag": `W/"` + uniqueID(eni.ID+strings.Join(eni.Groups, ",")+eni.PublicIP) + `"`,
		"tags": tagsOrEmpty(eni.Tags), "properties": props}
}

func publicIPID(eni *world.ENI) string {
	return strings.Replace(eni.ID, "/networkInterfaces/", "/publicIPAddresses/", 1) + "-ip"
}

func (s *Server) getNIC(c *call) (*response, error) {
	id := c.scope
	eni := azureworld.Of(s.World).NIC(id)
	if eni == nil {
		return nil, notFoundResource("Microsoft.Network/networkInterfaces", lastSeg(id), resourceGroupOf(id))
	}
	c.touch("Microsoft.Network/networkInterfaces", eni.ID)
	c.location = eni.Region
	return ok(s.nicJSON(eni, strings.Contains(strings.ToLower(c.query.Get("$expand")), "publicipaddress"))), nil
}

// putNIC applies an Interfaces.BeginCreateOrUpdate on an existing NIC: its
// NSG and whether the primary IP configuration keeps its public IP. Other
// changes are ignored. It answers 200 with a terminal body and an
// Azure-AsyncOperation monitor (the SDK then skips polling).
func (s *Server) putNIC(c *call) (*response, error) {
	id := c.scope
	eni := azureworld.Of(s.World).NIC(id)
	if eni == nil {
		return nil, errf(http.StatusBadRequest, "InvalidRequestFormat", "The simulator does not create network interfaces; '%s' does not exist.", id)
	}
	var in struct {
		Location   string `json:"location"`
		Properties *struct {
			NetworkSecurityGroup *struct {
				ID string `json:"id"`
			} `json:"networkSecurityGroup"`
			IPConfigurations []struct {
				Properties *struct {
					PublicIPAddress *struct {
						ID string `json:"id"`
					} `json:"publicIPAddress"`
				} `json:"properties"`
			} `json:"ipConfigurations"`
		} `json:"properties"`
	}
	if err := c.decodeBody(&in); err != nil {
		return nil, err
	}
	if in.Properties == nil {
		return nil, errf(http.StatusBadRequest, "InvalidRequestFormat", "Cannot parse the request: properties are required.")
	}
	if l := azureworld.Of(s.World).LockBlocking(eni.ID, true); l != nil {
		return nil, scopeLocked(eni.ID, l, "write")
	}
	nsg := ""
	if g := in.Properties.NetworkSecurityGroup; g != nil && g.ID != "" {
		nsg = g.ID
		target := azureworld.Of(s.World).NSG(g.ID)
		if target == nil {
			return nil, errf(http.StatusNotFound, "InvalidResourceReference",
				"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", g.ID, eni.ID)
		}
		if !strings.EqualFold(target.Location, eni.Region) {
			return nil, errf(http.StatusBadRequest, "InvalidResourceReference",
				"Resource %s referenced by resource %s was not found in region %s.", g.ID, eni.ID, eni.Region)
		}
		if !azureworld.Of(s.World).Authorize(c.token.ObjectID, "Microsoft.Network/networkSecurityGroups/join/action", target.ID, false) {
			return nil, errf(http.StatusForbidden, "LinkedAuthorizationFailed",
				"The client '%s' with object id '%s' has permission to perform action 'Microsoft.Network/networkInterfaces/write' on scope '%s'; however, it does not have permission to perform action 'Microsoft.Network/networkSecurityGroups/join/action' on the linked scope(s) '%s'.",
				c.token.AppID, c.token.ObjectID, eni.ID, target.ID)
		}
	}
	keepPIP := eni.PublicIP != ""
	if len(in.Properties.IPConfigurations) > 0 {
		p := in.Properties.IPConfigurations[0].Properties
		keepPIP = keepPIP && p != nil && p.PublicIPAddress != nil && p.PublicIPAddress.ID != ""
	}
	prev := strings.Join(eni.Groups, ",")
	if _, err := azureworld.Of(s.World).SetNIC(eni.ID, nsg, keepPIP); err != nil {
		return nil, err
	}
	c.location = eni.Region
	c.touch("Microsoft.Network/networkInterfaces", eni.ID)
	c.param("previousNetworkSecurityGroup", prev)
	c.param("networkSecurityGroup", nsg)
	h := s.asyncOp(c, "Microsoft.Network", "operations", eni.ID, "")
	delete(h, "Location")
	return &response{status: http.StatusOK, body: s.nicJSON(eni, false), headers: h}, nil
}

func ruleJSON(nsgID string, r azureworld.Rule, def bool) map[string]any {
	kind := "securityRules"
	if def {
		kind = "defaultSecurityRules"
	}
	props := map[string]any{"protocol": r.Protocol, "access": r.Access, "priority": r.Priority, "direction": r.Direction,
		"provisioningState": "Succeeded", "description": r.Description,
		"sourcePortRanges": []string{}, "destinationPortRanges": []string{}, "sourceAddressPrefixes": []string{}, "destinationAddressPrefixes": []string{}}
	one := func(single, plural string, v []string) {
		if len(v) == 1 {
			props[single] = v[0]
		} else {
			props[plural] = v
		}
	}
	one("sourcePortRange", "sourcePortRanges", orStar(r.SourcePorts))
	one("destinationPortRange", "destinationPortRanges", orStar(r.DestinationPorts))
	one("sourceAddressPrefix", "sourceAddressPrefixes", orStar(r.SourcePrefixes))
	one("destinationAddressPrefix", "destinationAddressPrefixes", orStar(r.DestinationPrefixes))
	return map[string]any{"id": nsgID + "/" + kind + "/" + r.Name, "name": r.Name,
		"type": "Microsoft.Network/networkSecurityGroups/" + kind, "etag": `W/"` + uniqueID(nsgID+r.Name) + `"`, "properties": props}
}

func orStar(v []string) []string {
	if len(v) == 0 {
		return []string{"*"}
	}
	return v
}

func (s *Server) nsgJSON(g *azureworld.NSG) map[string]any {
	var rules, defs, nics []any
	for _, r := range g.Rules {
		rules = append(rules, ruleJSON(g.ID, r, false))
	}
	for _, r := range azureworld.DefaultRules() {
		defs = append(defs, ruleJSON(g.ID, r, true))
	}
	for _, id := range s.World.ENIs.Keys() {
		if e := s.World.ENIs.Lookup(id); len(e.Groups) > 0 && strings.EqualFold(e.Groups[0], g.ID) {
			nics = append(nics, map[string]any{"id": e.ID})
		}
	}
	props := map[string]any{"provisioningState": "Succeeded", "resourceGuid": uniqueID(g.ID), "flushConnection": g.FlushConnection,
		"securityRules": nonNil(rules), "defaultSecurityRules": defs}
	if len(nics) > 0 {
		props["networkInterfaces"] = nics
	}
	return map[string]any{"id": g.ID, "name": g.Name, "type": "Microsoft.Network/networkSecurityGroups",
		"location": g.Location, "etag": g.ETag, "tags": tagsOrEmpty(g.Tags), "properties": props}
}

func (s *Server) getNSG(c *call) (*response, error) {
	id := c.scope
	g := azureworld.Of(s.World).NSG(id)
	if g == nil {
		return nil, notFoundResource("Microsoft.Network/networkSecurityGroups", lastSeg(id), resourceGroupOf(id))
	}
	c.touch("Microsoft.Network/networkSecurityGroups", g.ID)
	c.location = g.Location
	return ok(s.nsgJSON(g)), nil
}

// wireRule is a security rule as the client sends it.
type wireRule struct {
	Name       string `json:"name"`
	Properties *struct {
		Protocol                   string   `json:"protocol"`
		SourcePortRange            string   `json:"sourcePortRange"`
		SourcePortRanges           []string `json:"sourcePortRanges"`
		DestinationPortRange       string   `json:"destinationPortRange"`
		DestinationPortRanges      []string `json:"destinationPortRanges"`
		SourceAddressPrefix        string   `json:"sourceAddressPrefix"`
		SourceAddressPrefixes      []string `json:"sourceAddressPrefixes"`
		DestinationAddressPrefix   string   `json:"destinationAddressPrefix"`
		DestinationAddressPrefixes []string `json:"destinationAddressPrefixes"`
		Access                     string   `json:"access"`
		Priority                   *int     `json:"priority"`
		Direction                  string   `json:"direction"`
		Description                string   `json:"description"`
	} `json:"properties"`
}

func pick(single string, plural []string) []string {
	if single != "" {
		return []string{single}
	}
	return plural
}

// putNSG creates (201) or updates (200) an NSG with its rules and
// flushConnection, with an Azure-AsyncOperation monitor and a terminal body.
func (s *Server) putNSG(c *call) (*response, error) {
	id, rg, name := c.scope, c.vars["resourceGroupName"], c.vars["networkSecurityGroupName"]
	var in struct {
		Location   string            `json:"location"`
		Tags       map[string]string `json:"tags"`
		Properties *struct {
			FlushConnection *bool      `json:"flushConnection"`
			SecurityRules   []wireRule `json:"securityRules"`
		} `json:"properties"`
	}
	if err := c.decodeBody(&in); err != nil {
		return nil, err
	}
	if in.Location == "" {
		return nil, errf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	}
	if l := azureworld.Of(s.World).LockBlocking(id, true); l != nil {
		return nil, scopeLocked(id, l, "write")
	}
	g := &azureworld.NSG{ID: id, Name: name, ResourceGroup: rg, Subscription: c.sub, Location: in.Location, Tags: world.Tags{}}
	for k, v := range in.Tags {
		g.Tags[k] = v
	}
	if existing := azureworld.Of(s.World).NSG(id); existing != nil {
		g.ID, g.Name, g.Location = existing.ID, existing.Name, existing.Location
	}
	if in.Properties != nil {
		if in.Properties.FlushConnection != nil {
			g.FlushConnection = *in.Properties.FlushConnection
		}
		for _, wr := range in.Properties.SecurityRules {
			r, err := parseRule(wr)
			if err != nil {
				return nil, err
			}
			g.Rules = append(g.Rules, r)
		}
	}
	g, created, err := s.putNSGLocked(g)
	if err != nil {
		return nil, err
	}
	c.location = g.Location
	c.touch("Microsoft.Network/networkSecurityGroups", g.ID)
	c.param("flushConnection", boolStr(g.FlushConnection))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h := s.asyncOp(c, "Microsoft.Network", "operations", g.ID, "")
	delete(h, "Location")
	return &response{status: status, body: s.nsgJSON(g), headers: h}, nil
}

// parseRule reads a security rule as the client sends it.
func parseRule(wr wireRule) (azureworld.Rule, error) {
	p := wr.Properties
	if p == nil || p.Priority == nil || p.Access == "" || p.Direction == "" || p.Protocol == "" {
		return azureworld.Rule{}, errf(http.StatusBadRequest, "SecurityRuleInvalidParameters",
			"Security rule %s is missing a required property: protocol, access, priority and direction are required.", wr.Name)
	}
	proto := p.Protocol
	if proto != "*" {
		proto = strings.ToUpper(proto[:1]) + strings.ToLower(proto[1:])
	}
	return azureworld.Rule{Name: wr.Name, Description: p.Description, Priority: *p.Priority,
		Direction: p.Direction, Access: p.Access, Protocol: proto,
		SourcePrefixes: pick(p.SourceAddressPrefix, p.SourceAddressPrefixes), SourcePorts: pick(p.SourcePortRange, p.SourcePortRanges),
		DestinationPrefixes: pick(p.DestinationAddressPrefix, p.DestinationAddressPrefixes), DestinationPorts: pick(p.DestinationPortRange, p.DestinationPortRanges)}, nil
}

// putNSGLocked stores an NSG, answering a bad priority, and two rules
// with the same priority and direction, as ARM does.
func (s *Server) putNSGLocked(g *azureworld.NSG) (*azureworld.NSG, bool, error) {
	g, created, err := azureworld.Of(s.World).PutNSG(g)
	if err != nil {
		if ce, ok := world.ComputeErrorOf(err); ok && ce.Kind == world.KindInvalid {
			return nil, false, errf(http.StatusBadRequest, "SecurityRuleInvalidPriority", "%s", ce.Msg)
		} else if ok && ce.Kind == world.KindDuplicate {
			return nil, false, errf(http.StatusBadRequest, "SecurityRuleConflict", "%s", ce.Msg)
		}
		return nil, false, err
	}
	return g, created, nil
}

// ruleNSG finds the NSG of a security-rule path and the rule's index in it
// (-1 when the rule does not exist).
func (s *Server) ruleNSG(c *call) (*azureworld.NSG, int, error) {
	nsgID := c.scope[:strings.LastIndex(strings.ToLower(c.scope), "/securityrules/")]
	g := azureworld.Of(s.World).NSG(nsgID)
	if g == nil {
		return nil, -1, notFoundResource("Microsoft.Network/networkSecurityGroups", lastSeg(nsgID), resourceGroupOf(nsgID))
	}
	name := c.vars["securityRuleName"]
	for i, r := range g.Rules {
		if strings.EqualFold(r.Name, name) {
			return g, i, nil
		}
	}
	return g, -1, nil
}

func (s *Server) getNSGRule(c *call) (*response, error) {
	g, i, err := s.ruleNSG(c)
	if err != nil {
		return nil, err
	}
	if i < 0 {
		return nil, notFoundResource("Microsoft.Network/networkSecurityGroups/securityRules", c.vars["securityRuleName"], resourceGroupOf(g.ID))
	}
	c.touch("Microsoft.Network/networkSecurityGroups/securityRules", g.ID+"/securityRules/"+g.Rules[i].Name)
	c.location = g.Location
	return ok(ruleJSON(g.ID, g.Rules[i], false)), nil
}

// putNSGRule creates (201) or replaces (200) one rule of an NSG, what `az
// network nsg rule create` does: the Activity Log names the rule, not only
// its NSG.
func (s *Server) putNSGRule(c *call) (*response, error) {
	g, i, err := s.ruleNSG(c)
	if err != nil {
		return nil, err
	}
	var wr wireRule
	if err := c.decodeBody(&wr); err != nil {
		return nil, err
	}
	wr.Name = c.vars["securityRuleName"]
	r, err := parseRule(wr)
	if err != nil {
		return nil, err
	}
	if l := azureworld.Of(s.World).LockBlocking(g.ID, true); l != nil {
		return nil, scopeLocked(g.ID, l, "write")
	}
	next := *g
	next.Rules = append([]azureworld.Rule(nil), g.Rules...)
	status := http.StatusCreated
	if i >= 0 {
		next.Rules[i], status = r, http.StatusOK
	} else {
		next.Rules = append(next.Rules, r)
	}
	stored, _, err := s.putNSGLocked(&next)
	if err != nil {
		return nil, err
	}
	id := stored.ID + "/securityRules/" + r.Name
	c.location = stored.Location
	c.touch("Microsoft.Network/networkSecurityGroups/securityRules", id)
	h := s.asyncOp(c, "Microsoft.Network", "operations", id, "")
	delete(h, "Location")
	return &response{status: status, body: ruleJSON(stored.ID, r, false), headers: h}, nil
}

// deleteNSGRule removes one rule: 202 with a monitor, or 204 when there is
// no such rule, as ARM answers deletes.
func (s *Server) deleteNSGRule(c *call) (*response, error) {
	g, i, err := s.ruleNSG(c)
	if err != nil {
		return nil, err
	}
	if i < 0 {
		return &response{status: http.StatusNoContent}, nil
	}
	if l := azureworld.Of(s.World).LockBlocking(g.ID, true); l != nil {
		return nil, scopeLocked(g.ID, l, "delete")
	}
	// The rule's id is taken before the put: the stored NSG is updated in
	// place.
	id := g.ID + "/securityRules/" + g.Rules[i].Name
	next := *g
	next.Rules = append(append([]azureworld.Rule(nil), g.Rules[:i]...), g.Rules[i+1:]...)
	if _, _, err := s.putNSGLocked(&next); err != nil {
		return nil, err
	}
	c.location = g.Location
	c.touch("Microsoft.Network/networkSecurityGroups/securityRules", id)
	return &response{status: http.StatusAccepted, headers: s.asyncOp(c, "Microsoft.Network", "operations", id, "")}, nil
}

// listSubnets serves Subnets.List of an existing virtual network.
func (s *Server) listSubnets(c *call) (*response, error) {
	if _, found := azureworld.Of(s.World).VNets.Get(strings.ToLower(c.scope)); !found {
		return nil, notFoundResource(typeVNet, c.vars["virtualNetworkName"], c.vars["resourceGroupName"])
	}
	return s.list(typeSubnet)(c)
}
