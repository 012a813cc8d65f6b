package awssim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// CloudWatch (signing name "monitoring", IAM prefix "cloudwatch"). The Go
// SDK speaks Smithy RPC v2 CBOR (POST /service/GraniteServiceVersion20100801/
// operation/{Op}, header smithy-protocol: rpc-v2-cbor); the AWS CLI and older
// SDKs speak awsQuery (Action=…&Version=2010-08-01). Both are served: the
// protocol is chosen per request, handlers read a protocol-neutral input tree
// (cwIn) and return an ordered output tree (cwObj) that either encoder
// renders. Metric values come from world/metrics.go.

const cloudwatchNS = "http://monitoring.amazonaws.com/doc/2010-08-01/"

func cloudwatchService() *Service {
	return &Service{
		Name: "monitoring", EventSource: "monitoring.amazonaws.com", ActionPrefix: "cloudwatch",
		proto: cwProtocol{query: awsQuery{xmlns: cloudwatchNS}},
		Ops: map[string]*Op{
			"GetMetricData":       {Handle: cwHandler(cwGetMetricData)},
			"GetMetricStatistics": {Handle: cwHandler(cwGetMetricStatistics)},
			"DescribeAlarms":      {Handle: cwHandler(cwDescribeAlarms)},
			"PutMetricAlarm":      {Handle: cwHandler(cwPutMetricAlarm)},
		},
	}
}

// cwHandler decodes the request into an input tree for fn.
func cwHandler(fn func(c *Call, in cwIn) (any, error)) func(c *Call) (any, error) {
	return func(c *Call) (any, error) {
		if isCBORRequest(c.Req) {
			if len(c.Body) == 0 {
				return fn(c, cwIn{v: map[string]any{}})
			}
			v, err := cbor.Decode(c.Body)
			if err != nil {
				return nil, Errf(400, "SerializationException", "could not decode CBOR request body: %v", err)
			}
			return fn(c, cwIn{v: fromCBOR(v)})
		}
		if isJSON10Request(c.Req) {
			var v any = map[string]any{}
			if len(bytes.TrimSpace(c.Body)) > 0 {
				if err := json.Unmarshal(c.Body, &v); err != nil {
					return nil, Errf(400, "SerializationException", "could not decode JSON request body: %v", err)
				}
			}
			return fn(c, cwIn{v: v})
		}
		return fn(c, cwIn{v: formTree(c.Form)})
	}
}

// ---- protocol: rpcv2Cbor or awsQuery, per request -------------------------

func isCBORRequest(r *http.Request) bool {
	return r != nil && (strings.EqualFold(r.Header.Get("Smithy-Protocol"), "rpc-v2-cbor") ||
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/cbor"))
}

// isJSON10Request recognises awsJson1.0 in its awsQueryCompatible form, as
// recent botocore (the AWS CLI) sends it to CloudWatch.
func isJSON10Request(r *http.Request) bool {
	return r != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0")
}

// cwProtocol dispatches between cborProtocol, awsJson1.0 and awsQuery.
type cwProtocol struct {
	query awsQuery
	cbor  cborProtocol
}

func (p cwProtocol) operation(r *http.Request, f Form) string {
	if isCBORRequest(r) {
		return p.cbor.operation(r, f)
	}
	if isJSON10Request(r) {
		return awsJSON{}.operation(r, f)
	}
	return p.query.operation(r, f)
}

func (p cwProtocol) writeResult(w http.ResponseWriter, c *Call, result any) {
	if isCBORRequest(c.Req) {
		p.cbor.writeResult(w, c, result)
		return
	}
	if isJSON10Request(c.Req) {
		if raw, ok := result.(*RawResponse); ok {
			writeRaw(w, raw)
			return
		}
		w.Header().Set("x-amzn-RequestId", c.RequestID)
		writeBody(w, 200, "application/x-amz-json-1.0", jsonAppend(nil, result))
		return
	}
	if o, ok := result.(cwObj); ok {
		result = o.xml()
	}
	p.query.writeResult(w, c, result)
}

func (p cwProtocol) writeError(w http.ResponseWriter, c *Call, e *APIError) {
	if isCBORRequest(c.Req) {
		p.cbor.writeError(w, c, e)
		return
	}
	if isJSON10Request(c.Req) {
		fault := "Sender"
		if !e.Sender {
			fault = "Receiver"
		}
		w.Header().Set("x-amzn-RequestId", c.RequestID)
		w.Header().Set("X-Amzn-Query-Error", e.Code+";"+fault)
		writeBody(w, e.Status, "application/x-amz-json-1.0", jsonAppend(nil, cwObj{{"__type", e.Code}, {"message", e.Message}}))
		return
	}
	p.query.writeError(w, c, e)
}

// codes are CloudWatch's awsQuery error codes; the CBOR protocol reports
// the same codes (CloudWatch is awsQueryCompatible).
func (p cwProtocol) codes() errorCodes { return p.cbor.codes() }

// cborProtocol is Smithy RPC v2 CBOR.
type cborProtocol struct{}

func (cborProtocol) operation(r *http.Request, _ Form) string {
	_, op, ok := strings.Cut(r.URL.Path, "/operation/")
	if !ok || strings.Contains(op, "/") {
		return ""
	}
	return op
}

func (cborProtocol) writeResult(w http.ResponseWriter, c *Call, result any) {
	if raw, ok := result.(*RawResponse); ok {
		writeRaw(w, raw)
		return
	}
	if result == nil {
		result = cwObj{}
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	writeBody(w, 200, "application/cbor", cborAppend(nil, result))
}

func (cborProtocol) writeError(w http.ResponseWriter, c *Call, e *APIError) {
	fault := "Sender"
	if !e.Sender {
		fault = "Receiver"
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	// awsQueryCompatible services carry the query error code in this header;
	// the SDK prefers it over __type.
	w.Header().Set("X-Amzn-Query-Error", e.Code+";"+fault)
	body := cborAppend(nil, cwObj{{"__type", e.Code}, {"message", e.Message}})
	writeBody(w, e.Status, "application/cbor", body)
}

func (cborProtocol) codes() errorCodes {
	return errorCodes{
		unknownKey:   APIError{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Sender: true},
		badSignature: APIError{Status: 403, Code: "SignatureDoesNotMatch", Message: "The request signature we calculated does not match the signature you provided.", Sender: true},
		expired:      APIError{Status: 403, Code: "ExpiredToken", Message: "The security token included in the request is expired", Sender: true},
		denied:       APIError{Status: 403, Code: "AccessDenied", Message: "not authorized", Sender: true},
		throttle:     APIError{Status: 400, Code: "Throttling", Message: "Rate exceeded", Sender: true},
		internal:     APIError{Status: 500, Code: "InternalServiceError", Message: "An internal error occurred."},
		unknownOp:    APIError{Status: 400, Code: "InvalidAction", Message: "Could not find operation", Sender: true},
		badRequest:   APIError{Status: 400, Code: "InvalidParameterValue", Message: "Invalid request.", Sender: true},
	}
}

// ---- output tree -----------------------------------------------------------

// cwField is one member of an ordered output structure.
type cwField struct {
	k string
	v any
}

// cwObj is an output structure with members in a fixed order, so responses
// are byte-identical from run to run. Values: cwObj, []any, string, int,
// float64, bool, time.Time; nil members are omitted.
type cwObj []cwField

// xml renders the structure as awsQuery result children (lists as <member>).
func (o cwObj) xml() []*X {
	var kids []*X
	for _, f := range o {
		if x := xmlValue(f.k, f.v); x != nil {
			kids = append(kids, x)
		}
	}
	return kids
}

func xmlValue(name string, v any) *X {
	switch t := v.(type) {
	case nil:
		return nil
	case cwObj:
		return E(name, t.xml()...)
	case []any:
		var members []*X
		for _, m := range t {
			members = append(members, xmlValue("member", m))
		}
		return L(name, members)
	case string, int, int64, float64, bool, time.Time:
		return T(name, t)
	}
	return T(name, fmt.Sprint(v))
}

func cborHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// cborAppend encodes an output tree. Maps keep cwObj order (smithy's own
// encoder iterates a Go map, which would make bytes vary between runs).
func cborAppend(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, 0xf6)
	case bool:
		if t {
			return append(b, 0xf5)
		}
		return append(b, 0xf4)
	case int:
		return cborInt(b, int64(t))
	case int64:
		return cborInt(b, t)
	case float64:
		return binary.BigEndian.AppendUint64(append(b, 0xfb), math.Float64bits(t))
	case string:
		return append(cborHead(b, 3, uint64(len(t))), t...)
	case time.Time:
		b = cborHead(b, 6, 1) // tag 1: epoch-based date/time
		return cborAppend(b, float64(t.UnixMilli())/1000)
	case []any:
		b = cborHead(b, 4, uint64(len(t)))
		for _, e := range t {
			b = cborAppend(b, e)
		}
		return b
	case cwObj:
		n := 0
		for _, f := range t {
			if f.v != nil {
				n++
			}
		}
		b = cborHead(b, 5, uint64(n))
		for _, f := range t {
			if f.v != nil {
				b = cborAppend(b, f.k)
				b = cborAppend(b, f.v)
			}
		}
		return b
	}
	return cborAppend(b, fmt.Sprint(v))
}

// jsonAppend encodes an output tree as JSON with cwObj member order kept
// and timestamps as epoch seconds, as the JSON protocols send them.
func jsonAppend(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...)
	case time.Time:
		return strconv.AppendFloat(b, float64(t.UnixMilli())/1000, 'f', -1, 64)
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonAppend(b, e)
		}
		return append(b, ']')
	case cwObj:
		b = append(b, '{')
		first := true
		for _, f := range t {
			if f.v == nil {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = jsonAppend(b, f.k)
			b = append(b, ':')
			b = jsonAppend(b, f.v)
		}
		return append(b, '}')
	}
	enc, err := json.Marshal(v)
	if err != nil {
		enc, _ = json.Marshal(fmt.Sprint(v))
	}
	return append(b, enc...)
}

func cborInt(b []byte, v int64) []byte {
	if v >= 0 {
		return cborHead(b, 0, uint64(v))
	}
	return cborHead(b, 1, uint64(-1-v))
}

// ---- input tree ------------------------------------------------------------

// cwIn is a node of a decoded request: map[string]any, []any, string,
// float64, int64, bool, time.Time or nil.
type cwIn struct{ v any }

func (n cwIn) get(k string) cwIn {
	m, _ := n.v.(map[string]any)
	return cwIn{m[k]}
}

func (n cwIn) present() bool { return n.v != nil }

func (n cwIn) str() string {
	switch t := n.v.(type) {
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

func (n cwIn) num() (float64, bool) {
	switch t := n.v.(type) {
	case float64:
		return t, true
	case int64:
		return float64(t), true
	case string:
		f, err := strconv.ParseFloat(t, 64)
		return f, err == nil
	}
	return 0, false
}

func (n cwIn) boolean(def bool) bool {
	switch t := n.v.(type) {
	case bool:
		return t
	case string:
		return strings.EqualFold(t, "true")
	}
	return def
}

func (n cwIn) time() (time.Time, bool) {
	switch t := n.v.(type) {
	case time.Time:
		return t.UTC(), true
	case float64:
		return epochTime(t), true
	case int64:
		return time.Unix(t, 0).UTC(), true
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
			if v, err := time.Parse(layout, t); err == nil {
				return v.UTC(), true
			}
		}
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return epochTime(f), true
		}
	}
	return time.Time{}, false
}

func (n cwIn) list() []cwIn {
	l, _ := n.v.([]any)
	out := make([]cwIn, len(l))
	for i, e := range l {
		out[i] = cwIn{e}
	}
	return out
}

func (n cwIn) strings() []string {
	var out []string
	for _, e := range n.list() {
		out = append(out, e.str())
	}
	return out
}

// fromCBOR converts smithy's decoded CBOR into an input tree.
func fromCBOR(v cbor.Value) any {
	switch t := v.(type) {
	case cbor.Map:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = fromCBOR(e)
		}
		return m
	case cbor.List:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = fromCBOR(e)
		}
		return l
	case cbor.String:
		return string(t)
	case cbor.Uint:
		if uint64(t) > math.MaxInt64 {
			return float64(t)
		}
		return int64(t)
	case cbor.NegInt:
		return -1 - int64(t)
	case cbor.Float32:
		return float64(t)
	case cbor.Float64:
		return float64(t)
	case cbor.Bool:
		return bool(t)
	case *cbor.Tag:
		if tm, err := cbor.AsTime(t); err == nil {
			return tm.UTC()
		}
		return fromCBOR(t.Value)
	}
	return nil
}

// formTree turns awsQuery keys ("A.member.1.B.member.2.C") into an input
// tree: "member" followed by an index, or a bare index, opens a list.
func formTree(f Form) any {
	root := map[string]any{}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "Action" || k == "Version" || len(f[k]) == 0 {
			continue
		}
		var parts []string
		segs := strings.Split(k, ".")
		for i := 0; i < len(segs); i++ {
			if segs[i] == "member" && i+1 < len(segs) {
				continue // the index that follows marks the list
			}
			parts = append(parts, segs[i])
		}
		insertPath(root, parts, f[k][0])
	}
	return normalizeTree(root)
}

// listNode collects indexed list elements until normalizeTree orders them.
type listNode map[int]any

func insertPath(m map[string]any, parts []string, value string) {
	key := parts[0]
	if len(parts) == 1 {
		m[key] = value
		return
	}
	if idx, err := strconv.Atoi(parts[1]); err == nil {
		l, ok := m[key].(listNode)
		if !ok {
			l = listNode{}
			m[key] = l
		}
		if len(parts) == 2 {
			l[idx] = value
			return
		}
		child, ok := l[idx].(map[string]any)
		if !ok {
			child = map[string]any{}
			l[idx] = child
		}
		insertPath(child, parts[2:], value)
		return
	}
	child, ok := m[key].(map[string]any)
	if !ok {
		child = map[string]any{}
		m[key] = child
	}
	insertPath(child, parts[1:], value)
}

func normalizeTree(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeTree(e)
		}
		return t
	case listNode:
		idx := make([]int, 0, len(t))
		for i := range t {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		out := make([]any, len(idx))
		for i, n := range idx {
			out[i] = normalizeTree(t[n])
		}
		return out
	}
	return v
}

// ---- operations ------------------------------------------------------------

var metricIDRe = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

func cwDimensions(n cwIn) (map[string]string, []any) {
	dims := map[string]string{}
	var out []any
	for _, d := range n.list() {
		dims[d.get("Name").str()] = d.get("Value").str()
		out = append(out, cwObj{{"Name", d.get("Name").str()}, {"Value", d.get("Value").str()}})
	}
	return dims, out
}

func cwPeriod(n cwIn, name string) (time.Duration, error) {
	p, ok := n.num()
	if !ok || p < 60 || math.Mod(p, 60) != 0 {
		return 0, Errf(400, "InvalidParameterValue", "The parameter %s must be a multiple of 60 and at least 60 (got %s).", name, n.str())
	}
	return time.Duration(p) * time.Second, nil
}

func cwWindow(c *Call, in cwIn) (time.Time, time.Time, error) {
	start, ok1 := in.get("StartTime").time()
	end, ok2 := in.get("EndTime").time()
	if !ok1 || !ok2 {
		return start, end, Errf(400, "MissingParameter", "The parameters StartTime and EndTime are required.")
	}
	if !start.Before(end) {
		return start, end, Errf(400, "InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime.")
	}
	return start, end, nil
}

func cwGetMetricData(c *Call, in cwIn) (any, error) {
	start, end, err := cwWindow(c, in)
	if err != nil {
		return nil, err
	}
	queries := in.get("MetricDataQueries").list()
	if len(queries) == 0 || len(queries) > 500 {
		return nil, Errf(400, "InvalidParameterValue", "MetricDataQueries must hold between 1 and 500 queries.")
	}
	ascending := in.get("ScanBy").str() == "TimestampAscending"
	maxPoints := 100800
	if n, ok := in.get("MaxDatapoints").num(); ok && n > 0 {
		maxPoints = int(n)
	}
	results := []any{}
	total := 0
	for _, q := range queries {
		id := q.get("Id").str()
		if !metricIDRe.MatchString(id) {
			return nil, Errf(400, "ValidationError", "The value %s for parameter MetricDataQueries.member.Id is not valid: it must start with a lowercase letter and hold only letters, digits and underscores.", id)
		}
		if q.get("Expression").present() {
			return nil, Errf(400, "InvalidParameterValue", "Metric math expressions are not supported by the firedrill simulator (query %s).", id)
		}
		ms := q.get("MetricStat")
		if !ms.present() {
			return nil, Errf(400, "MissingParameter", "Query %s needs a MetricStat or an Expression.", id)
		}
		metric := ms.get("Metric")
		dims, _ := cwDimensions(metric.get("Dimensions"))
		period, err := cwPeriod(ms.get("Period"), "MetricStat.Period")
		if err != nil {
			return nil, err
		}
		stat := ms.get("Stat").str()
		pts, err := awsworld.Of(c.World).MetricSeries(metric.get("Namespace").str(), metric.get("MetricName").str(), dims, stat, start, end, period)
		if err != nil {
			return nil, Errf(400, "InvalidParameterValue", "Query %s: %v", id, err)
		}
		if id := dims["InstanceId"]; id != "" {
			c.Touch("AWS::EC2::Instance", id)
		}
		if !q.get("ReturnData").boolean(true) {
			continue
		}
		status := "Complete"
		if total+len(pts) > maxPoints {
			pts = pts[:max(0, maxPoints-total)]
			status = "PartialData"
		}
		total += len(pts)
		if !ascending {
			for i, j := 0, len(pts)-1; i < j; i, j = i+1, j-1 {
				pts[i], pts[j] = pts[j], pts[i]
			}
		}
		ts, vals := []any{}, []any{}
		for _, p := range pts {
			ts = append(ts, p.Time)
			vals = append(vals, p.Value)
		}
		label := q.get("Label").str()
		if label == "" {
			label = metric.get("MetricName").str()
		}
		results = append(results, cwObj{{"Id", id}, {"Label", label}, {"Timestamps", ts}, {"Values", vals},
			{"StatusCode", status}, {"Messages", []any{}}})
	}
	return cwObj{{"MetricDataResults", results}, {"Messages", []any{}}}, nil
}

func cwGetMetricStatistics(c *Call, in cwIn) (any, error) {
	start, end, err := cwWindow(c, in)
	if err != nil {
		return nil, err
	}
	period, err := cwPeriod(in.get("Period"), "Period")
	if err != nil {
		return nil, err
	}
	stats := in.get("Statistics").strings()
	if len(stats) == 0 {
		return nil, Errf(400, "MissingParameter", "The parameter Statistics or ExtendedStatistics is required.")
	}
	for _, s := range stats {
		if _, err := (world.Stats{}).Value(s); err != nil {
			return nil, Errf(400, "InvalidParameterValue", "%v", err)
		}
	}
	dims, _ := cwDimensions(in.get("Dimensions"))
	name := in.get("MetricName").str()
	points := []any{}
	inst := c.World.Instances.Lookup(dims["InstanceId"])
	if in.get("Namespace").str() == "AWS/EC2" && name == "CPUUtilization" && inst != nil {
		c.Touch("AWS::EC2::Instance", inst.ID)
		for t := start.Truncate(period); t.Before(end); t = t.Add(period) {
			st, ok := c.World.CPUStatsLocked(inst, t, period)
			if !ok {
				continue
			}
			dp := cwObj{{"Timestamp", t}}
			for _, s := range stats {
				v, _ := st.Value(s)
				dp = append(dp, cwField{s, v})
			}
			points = append(points, append(dp, cwField{"Unit", "Percent"}))
		}
	}
	return cwObj{{"Label", name}, {"Datapoints", points}}, nil
}

// cwAlarms returns the caller's alarms in name order.
func cwAlarms(c *Call) []*world.Alarm {
	var out []*world.Alarm
	for _, a := range c.World.Alarms {
		if a.Account == c.Account() && a.Region == c.Region {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func cwDescribeAlarms(c *Call, in cwIn) (any, error) {
	names := in.get("AlarmNames").strings()
	prefix := in.get("AlarmNamePrefix").str()
	if len(names) > 0 && prefix != "" {
		return nil, Errf(400, "InvalidParameterCombination", "AlarmNames and AlarmNamePrefix cannot be specified together.")
	}
	state := in.get("StateValue").str()
	if state != "" && state != awsworld.AlarmOK && state != awsworld.AlarmAlarm && state != awsworld.AlarmInsufficientData {
		return nil, Errf(400, "InvalidParameterValue", "StateValue %q must be one of OK, ALARM, INSUFFICIENT_DATA.", state)
	}
	max := 50
	if n, ok := in.get("MaxRecords").num(); ok {
		if n < 1 || n > 100 {
			return nil, Errf(400, "InvalidParameterValue", "MaxRecords must be between 1 and 100.")
		}
		max = int(n)
	}
	off := 0
	if tok := in.get("NextToken").str(); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "cw-"))
		if err != nil || !strings.HasPrefix(tok, "cw-") || n < 0 {
			return nil, Errf(400, "InvalidNextToken", "The service couldn't process the provided token.")
		}
		off = n
	}
	wantName := map[string]bool{}
	for _, n := range names {
		wantName[n] = true
	}
	// AlarmTypes without MetricAlarm asks for composite alarms only, which
	// the simulator does not model.
	types := in.get("AlarmTypes").strings()
	metricAlarms := len(types) == 0
	for _, t := range types {
		metricAlarms = metricAlarms || t == "MetricAlarm"
	}
	var matched []any
	if metricAlarms {
		for _, a := range cwAlarms(c) {
			if (len(names) > 0 && !wantName[a.Name]) || !strings.HasPrefix(a.Name, prefix) {
				continue
			}
			ev := awsworld.Of(c.World).EvaluateAlarm(a, c.Now)
			if state != "" && ev.State != state {
				continue
			}
			matched = append(matched, cwRenderAlarm(a, ev))
		}
	}
	page := []any{}
	for i := off; i < len(matched) && i < off+max; i++ {
		page = append(page, matched[i])
	}
	out := cwObj{{"MetricAlarms", page}, {"CompositeAlarms", []any{}}}
	if off+max < len(matched) {
		out = append(out, cwField{"NextToken", "cw-" + strconv.Itoa(off+max)})
	}
	return out, nil
}

func cwRenderAlarm(a *world.Alarm, ev awsworld.AlarmEvaluation) cwObj {
	dims := []any{}
	for _, k := range world.SortedKeys(a.Dimensions) {
		dims = append(dims, cwObj{{"Name", k}, {"Value", a.Dimensions[k]}})
	}
	stat := a.Statistic
	if stat == "" {
		stat = "Average"
	}
	cmp := a.Comparison
	if cmp == "" {
		cmp = "GreaterThanThreshold"
	}
	return cwObj{
		{"AlarmName", a.Name}, {"AlarmArn", a.ARN}, {"AlarmDescription", a.Description},
		{"ActionsEnabled", true}, {"OKActions", []any{}}, {"AlarmActions", []any{}}, {"InsufficientDataActions", []any{}},
		{"StateValue", ev.State}, {"StateReason", ev.Reason}, {"StateUpdatedTimestamp", ev.Since},
		{"StateTransitionedTimestamp", ev.Since},
		{"MetricName", a.Metric}, {"Namespace", a.Namespace}, {"Statistic", stat}, {"Dimensions", dims},
		{"Period", int(a.Period / time.Second)}, {"EvaluationPeriods", a.EvaluationPeriods},
		{"Threshold", a.Threshold}, {"ComparisonOperator", cmp}, {"TreatMissingData", "missing"},
	}
}

var cwComparisons = map[string]bool{"GreaterThanThreshold": true, "GreaterThanOrEqualToThreshold": true,
	"LessThanThreshold": true, "LessThanOrEqualToThreshold": true}

func cwPutMetricAlarm(c *Call, in cwIn) (any, error) {
	name := in.get("AlarmName").str()
	if name == "" || len(name) > 255 {
		return nil, Errf(400, "InvalidParameterValue", "AlarmName must be 1 to 255 characters.")
	}
	cmp := in.get("ComparisonOperator").str()
	if !cwComparisons[cmp] {
		return nil, Errf(400, "InvalidParameterValue", "ComparisonOperator %q is not supported.", cmp)
	}
	stat := in.get("Statistic").str()
	if _, err := (world.Stats{}).Value(stat); err != nil || stat == "" {
		return nil, Errf(400, "InvalidParameterValue", "Statistic %q must be one of SampleCount, Average, Sum, Minimum, Maximum.", stat)
	}
	period, err := cwPeriod(in.get("Period"), "Period")
	if err != nil {
		return nil, err
	}
	evals, ok := in.get("EvaluationPeriods").num()
	if !ok || evals < 1 {
		return nil, Errf(400, "InvalidParameterValue", "EvaluationPeriods must be at least 1.")
	}
	if evals*period.Seconds() > 7*24*3600 {
		return nil, Errf(400, "InvalidParameterCombination", "EvaluationPeriods times Period must not exceed one week.")
	}
	threshold, ok := in.get("Threshold").num()
	if !ok {
		return nil, Errf(400, "MissingParameter", "The parameter Threshold is required.")
	}
	dims, _ := cwDimensions(in.get("Dimensions"))
	a := &world.Alarm{Name: name, ARN: fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", c.Region, c.Account(), name),
		Account: c.Account(), Region: c.Region, Metric: in.get("MetricName").str(), Namespace: in.get("Namespace").str(),
		Dimensions: dims, Threshold: threshold, Comparison: cmp, Period: period, EvaluationPeriods: int(evals),
		Statistic: stat, Description: in.get("AlarmDescription").str()}
	c.Touch("AWS::CloudWatch::Alarm", a.ARN)
	c.World.PutAlarmLocked(a)
	return cwObj{}, nil
}
