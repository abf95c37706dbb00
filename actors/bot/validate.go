package bot

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"crm"
)

var (
	nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	// variablePattern is a {{var.x}} name.
	variablePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,39}$`)
	// customKeyPattern matches the contacts API's custom field keys.
	customKeyPattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,39}$`)
	headerPattern    = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	pathPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]+(\[[0-9]+\])*(\.[A-Za-z0-9_-]+(\[[0-9]+\])*)*$`)
)

// Compiled is a flow decoded and checked, ready for Step: every node's
// config typed and every output handle resolved.
type Compiled struct {
	Flow    Flow
	Version int // the published version it was compiled from (0 for a draft)
	Start   string
	nodes   map[string]*compiled
}

type compiled struct {
	Node
	index  int
	config any // *MessageConfig, *QuestionConfig, …
	next   map[string]string
}

// Node returns the node with the id, if any.
func (c *Compiled) Node(id string) (Node, bool) {
	n, ok := c.nodes[id]
	if !ok {
		return Node{}, false
	}
	return n.Node, true
}

// Validate checks a flow for publishing and returns its problems keyed by
// path: "nodes[3].config.buttons", "nodes[2].handles.invalid",
// "edges[0].to", "trigger.keywords". None means it can be published.
func Validate(f Flow) crm.FieldErrors {
	_, fields := compile(f)
	return fields
}

// Compile validates the flow and prepares it for Step. Its error is
// InvalidFlowError's.
func Compile(f Flow, version int) (*Compiled, error) {
	c, fields := compile(f)
	if len(fields) > 0 {
		return nil, InvalidFlowError(f, fields)
	}
	c.Version = version
	return c, nil
}

// NodeError is one problem of one node, for the builder to mark it.
type NodeError struct {
	NodeID  string `json:"node_id"`
	Index   int    `json:"index"`
	Field   string `json:"field"` // below the node: "config.buttons", "handles.next", "" for the node itself
	Message string `json:"message"`
}

// InvalidFlowError is the 422 a publish answers for a flow with problems:
// details.fields keyed by path (as validation_failed) and details.node_errors
// naming the node ids, sorted by node order.
func InvalidFlowError(f Flow, fields crm.FieldErrors) error {
	all := make(map[string]any, len(fields))
	nodeErrors := []NodeError{}
	for path, msg := range fields {
		all[path] = msg
		if !strings.HasPrefix(path, "nodes[") {
			continue
		}
		end := strings.IndexByte(path, ']')
		i, err := strconv.Atoi(path[len("nodes["):end])
		if err != nil || i < 0 || i >= len(f.Nodes) {
			continue
		}
		nodeErrors = append(nodeErrors, NodeError{NodeID: f.Nodes[i].ID, Index: i,
			Field: strings.TrimPrefix(path[end+1:], "."), Message: msg})
	}
	sort.Slice(nodeErrors, func(a, b int) bool {
		if nodeErrors[a].Index != nodeErrors[b].Index {
			return nodeErrors[a].Index < nodeErrors[b].Index
		}
		return nodeErrors[a].Field < nodeErrors[b].Field
	})
	return crm.NewError(crm.ErrUnprocessable, "flow_invalid",
		fmt.Sprintf("the flow cannot be published: %d problem(s)", len(fields)),
		map[string]any{"fields": all, "node_errors": nodeErrors})
}

// ValidateShape checks what a draft must hold to be saved at all: known
// node types, unique well-formed ids, edges between existing nodes, sizes.
// A draft may be incomplete; Validate says what publishing needs.
func ValidateShape(f Flow) crm.FieldErrors {
	fields := crm.FieldErrors{}
	shape(f, fields)
	return fields
}

func shape(f Flow, fields crm.FieldErrors) map[string]int {
	if len(f.Nodes) > MaxNodes {
		fields.Add("nodes", "at most %d nodes", MaxNodes)
	}
	if len(f.Edges) > MaxEdges {
		fields.Add("edges", "at most %d edges", MaxEdges)
	}
	ids := make(map[string]int, len(f.Nodes))
	for i, n := range f.Nodes {
		p := fmt.Sprintf("nodes[%d]", i)
		switch {
		case !nodeIDPattern.MatchString(n.ID):
			fields.Add(p+".id", "must be 1 to 64 of A-Z, a-z, 0-9, _ . : -")
		case hasKey(ids, n.ID):
			fields.Add(p+".id", "repeats the id of nodes[%d]", ids[n.ID])
		default:
			ids[n.ID] = i
		}
		if !knownType(n.Type) {
			fields.Add(p+".type", "must be one of start, message, question, condition, delay, webhook, add_label, handoff, end")
		}
		checkText(fields, p+".name", n.Name, 120)
		if c := strings.TrimSpace(string(n.Config)); c != "" && c != "null" && !strings.HasPrefix(c, "{") {
			fields.Add(p+".config", "must be an object")
		}
	}
	for i, e := range f.Edges {
		p := fmt.Sprintf("edges[%d]", i)
		if !hasKey(ids, e.From) {
			fields.Add(p+".from", "names no node of the flow")
		}
		if !hasKey(ids, e.To) {
			fields.Add(p+".to", "names no node of the flow")
		}
		if len(e.Handle) > 140 || !utf8.ValidString(e.Handle) || strings.ContainsRune(e.Handle, 0) {
			fields.Add(p+".handle", "is not a handle")
		}
	}
	return ids
}

func hasKey[V any](m map[string]V, k string) bool { _, ok := m[k]; return ok }

func knownType(t NodeType) bool {
	for _, k := range NodeTypes {
		if k == t {
			return true
		}
	}
	return false
}

func compile(f Flow) (*Compiled, crm.FieldErrors) {
	fields := crm.FieldErrors{}
	ids := shape(f, fields)
	checkTrigger(fields, f.Trigger)
	c := &Compiled{Flow: f, nodes: make(map[string]*compiled, len(f.Nodes))}
	starts := 0
	for i, n := range f.Nodes {
		if ids[n.ID] != i {
			continue // a repeated or malformed id, already reported
		}
		cn := &compiled{Node: n, index: i, next: map[string]string{}}
		c.nodes[n.ID] = cn
		p := fmt.Sprintf("nodes[%d]", i)
		if n.Type == NodeStart {
			starts++
			if starts > 1 {
				fields.Add(p+".type", "a flow has only one start node")
			} else {
				c.Start = n.ID
			}
		}
		cn.config = checkConfig(fields, p+".config", n)
	}
	if starts == 0 {
		fields.Add("nodes", "needs a start node")
	}
	for i, e := range f.Edges {
		from, ok := c.nodes[e.From]
		to, ok2 := c.nodes[e.To]
		if !ok || !ok2 {
			continue
		}
		p := fmt.Sprintf("edges[%d]", i)
		handle := e.Handle
		if handle == "" {
			handle = HandleNext
		}
		switch {
		case !handleAllowed(from, handle):
			fields.Add(p+".handle", "%q is not an output of the %s node %q", e.Handle, from.Type, from.ID)
		case hasKey(from.next, handle):
			fields.Add(p+".handle", "output %q of node %q is already connected", handle, from.ID)
		case to.Type == NodeStart:
			fields.Add(p+".to", "nothing may lead back to the start node")
		default:
			from.next[handle] = e.To
		}
	}
	for _, n := range c.nodes {
		for _, h := range requiredHandles(n) {
			if !hasKey(n.next, h) {
				fields.Add(fmt.Sprintf("nodes[%d].handles.%s", n.index, h), "must be connected")
			}
		}
	}
	if c.Start != "" {
		seen := map[string]bool{c.Start: true}
		queue := []string{c.Start}
		for len(queue) > 0 {
			n := c.nodes[queue[0]]
			queue = queue[1:]
			for _, to := range n.next {
				if !seen[to] {
					seen[to] = true
					queue = append(queue, to)
				}
			}
		}
		for _, n := range c.nodes {
			if !seen[n.ID] {
				fields.Add(fmt.Sprintf("nodes[%d]", n.index), "is not reachable from the start node")
			}
		}
	}
	return c, fields
}

// handleAllowed reports whether a node of this type has the output.
func handleAllowed(n *compiled, handle string) bool {
	switch n.Type {
	case NodeStart, NodeMessage, NodeDelay, NodeAddLabel:
		return handle == HandleNext
	case NodeQuestion:
		if handle == HandleNext || handle == HandleInvalid || handle == HandleTimeout {
			return true
		}
		q, ok := n.config.(*QuestionConfig)
		if ok && q.AnswerType == AnswerOption && strings.HasPrefix(handle, HandleOptionPrefix) {
			id := strings.TrimPrefix(handle, HandleOptionPrefix)
			for _, o := range q.options() {
				if o.ID == id {
					return true
				}
			}
		}
		return false
	case NodeCondition:
		return handle == HandleTrue || handle == HandleFalse
	case NodeWebhook:
		return handle == HandleOK || handle == HandleError
	}
	return false // handoff and end end the flow
}

// requiredHandles are the outputs that must be connected: every way the
// node can be left.
func requiredHandles(n *compiled) []string {
	switch n.Type {
	case NodeStart, NodeMessage, NodeDelay, NodeAddLabel:
		return []string{HandleNext}
	case NodeCondition:
		return []string{HandleTrue, HandleFalse}
	case NodeWebhook:
		return []string{HandleOK, HandleError}
	case NodeQuestion:
		q, ok := n.config.(*QuestionConfig)
		if !ok {
			return nil
		}
		var out []string
		needNext := true
		if q.AnswerType == AnswerOption {
			opts := q.options()
			all := len(opts) > 0
			for _, o := range opts {
				if !hasKey(n.next, HandleOptionPrefix+o.ID) {
					all = false
				}
			}
			needNext = !all
		}
		if needNext {
			out = append(out, HandleNext)
		}
		if q.AnswerType != AnswerText {
			out = append(out, HandleInvalid)
		}
		if q.TimeoutS > 0 {
			out = append(out, HandleTimeout)
		}
		return out
	}
	return nil
}

func checkTrigger(fields crm.FieldErrors, t Trigger) {
	switch t.On {
	case TriggerFirstMessage, TriggerAlways, TriggerOutsideHours:
	case TriggerKeyword:
		if len(t.Keywords) == 0 {
			fields.Add("trigger.keywords", "needs at least one keyword")
		}
	default:
		fields.Add("trigger.on", "must be first_message, keyword, always or outside_hours")
	}
	if len(t.Keywords) > MaxKeywords {
		fields.Add("trigger.keywords", "at most %d keywords", MaxKeywords)
	}
	for i, k := range t.Keywords {
		if strings.TrimSpace(k) == "" {
			fields.Add(fmt.Sprintf("trigger.keywords[%d]", i), "is empty")
		}
		checkText(fields, fmt.Sprintf("trigger.keywords[%d]", i), k, 100)
	}
	seen := map[uuid.UUID]bool{}
	for i, id := range t.ConnectionIDs {
		if seen[id] || id == uuid.Nil {
			fields.Add(fmt.Sprintf("trigger.connection_ids[%d]", i), "is repeated or empty")
		}
		seen[id] = true
	}
}

func checkText(fields crm.FieldErrors, path, s string, max int) {
	switch {
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		fields.Add(path, "must be valid text")
	case utf8.RuneCountInString(s) > max:
		fields.Add(path, "must have at most %d characters", max)
	}
}

// checkTemplate checks the text and its {{contact.x}} / {{var.x}} references.
func checkTemplate(fields crm.FieldErrors, path, s string, max int) {
	checkText(fields, path, s, max)
	if err := templateError(s); err != nil {
		fields.Add(path, "%s", err.Error())
	}
}

func templateError(s string) error {
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			return nil
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return errors.New("has a {{ without its }}")
		}
		ref := strings.TrimSpace(rest[i+2 : i+j])
		if _, _, ok := parseRef(ref); !ok {
			return fmt.Errorf("{{%s}} is not a variable: use {{contact.name}}, {{contact.<field>}} or {{var.<name>}}", ref)
		}
		rest = rest[i+j+2:]
	}
}

// parseRef splits "contact.name" / "var.x" into its scope and name.
func parseRef(ref string) (scope, name string, ok bool) {
	scope, name, found := strings.Cut(ref, ".")
	if !found {
		return "", "", false
	}
	switch scope {
	case "contact":
		return scope, name, name == "name" || name == "phone" || name == "email" || customKeyPattern.MatchString(name)
	case "var":
		return scope, name, variablePattern.MatchString(name)
	}
	return "", "", false
}

func checkVariable(fields crm.FieldErrors, path, name string) {
	if !variablePattern.MatchString(name) {
		fields.Add(path, "must be a variable name: a letter or _, then letters, digits or _ (at most 40)")
	}
}

func checkContactField(fields crm.FieldErrors, path, name string) {
	if name == "name" || name == "email" || name == "phone" {
		return
	}
	if key, ok := strings.CutPrefix(name, "custom."); ok && customKeyPattern.MatchString(key) {
		return
	}
	fields.Add(path, "must be name, email, phone or custom.<key>")
}

func checkConfig(fields crm.FieldErrors, p string, n Node) any {
	var cfg any
	switch n.Type {
	case NodeStart:
		cfg = &StartConfig{}
	case NodeMessage:
		cfg = &MessageConfig{}
	case NodeQuestion:
		cfg = &QuestionConfig{}
	case NodeCondition:
		cfg = &ConditionConfig{}
	case NodeDelay:
		cfg = &DelayConfig{}
	case NodeWebhook:
		cfg = &WebhookConfig{}
	case NodeAddLabel:
		cfg = &LabelConfig{}
	case NodeHandoff:
		cfg = &HandoffConfig{}
	case NodeEnd:
		cfg = &EndConfig{}
	default:
		return nil
	}
	if err := decodeConfig(n.Config, cfg); err != nil {
		fields.Add(p, "is not a valid %s config: %v", n.Type, err)
		return cfg
	}
	switch c := cfg.(type) {
	case *MessageConfig:
		checkMessage(fields, p, *c)
	case *QuestionConfig:
		checkQuestion(fields, p, c)
	case *ConditionConfig:
		checkCondition(fields, p, c)
	case *DelayConfig:
		if c.DurationS < 1 || c.DurationS > MaxDelayS {
			fields.Add(p+".duration_s", "must be between 1 and %d seconds", MaxDelayS)
		}
	case *WebhookConfig:
		checkWebhook(fields, p, c)
	case *LabelConfig:
		if c.Action == "" {
			c.Action = "add"
		}
		if c.Action != "add" && c.Action != "remove" {
			fields.Add(p+".action", "must be add or remove")
		}
		if len(c.LabelIDs) == 0 || len(c.LabelIDs) > 20 {
			fields.Add(p+".label_ids", "needs 1 to 20 labels")
		}
	case *HandoffConfig:
		if c.TeamID != nil && c.AgentID != nil {
			fields.Add(p+".agent_id", "give a team or an agent, not both")
		}
		checkTemplate(fields, p+".message", c.Message, MaxTextLength)
	case *EndConfig:
		checkTemplate(fields, p+".message", c.Message, MaxTextLength)
	}
	return cfg
}

func checkMessage(fields crm.FieldErrors, p string, m MessageConfig) {
	checkTemplate(fields, p+".text", m.Text, MaxTextLength)
	interactive := len(m.Buttons) > 0 || m.List != nil
	if strings.TrimSpace(m.Text) == "" && (m.Media == nil || interactive) {
		fields.Add(p+".text", "is required")
	}
	if len(m.Buttons) > 0 && m.List != nil {
		fields.Add(p+".list", "use reply buttons or a list, not both")
	}
	if len(m.Buttons) > MaxButtons {
		fields.Add(p+".buttons", "at most %d buttons", MaxButtons)
	}
	ids := map[string]bool{}
	checkOption := func(path, id, title string, maxTitle int) {
		if strings.TrimSpace(id) == "" || len(id) > 200 {
			fields.Add(path+".id", "must be 1 to 200 characters")
		} else if ids[id] {
			fields.Add(path+".id", "repeats another option's id")
		}
		ids[id] = true
		if strings.TrimSpace(title) == "" {
			fields.Add(path+".title", "is required")
		}
		checkTemplate(fields, path+".title", title, maxTitle)
	}
	for i, b := range m.Buttons {
		checkOption(fmt.Sprintf("%s.buttons[%d]", p, i), b.ID, b.Title, 20)
	}
	if m.List != nil {
		if strings.TrimSpace(m.List.Button) == "" {
			fields.Add(p+".list.button", "is required")
		}
		checkText(fields, p+".list.button", m.List.Button, 20)
		if len(m.List.Sections) == 0 || len(m.List.Sections) > MaxSections {
			fields.Add(p+".list.sections", "needs 1 to %d sections", MaxSections)
		}
		rows := 0
		for i, s := range m.List.Sections {
			sp := fmt.Sprintf("%s.list.sections[%d]", p, i)
			checkText(fields, sp+".title", s.Title, 24)
			if len(s.Rows) == 0 {
				fields.Add(sp+".rows", "needs at least one row")
			}
			for j, r := range s.Rows {
				rp := fmt.Sprintf("%s.rows[%d]", sp, j)
				checkOption(rp, r.ID, r.Title, 24)
				checkText(fields, rp+".description", r.Description, 72)
				rows++
			}
		}
		if rows > MaxListRows {
			fields.Add(p+".list.sections", "at most %d rows in all", MaxListRows)
		}
	}
	if m.Media != nil {
		switch m.Media.Type {
		case "image", "video", "audio", "document":
		default:
			fields.Add(p+".media.type", "must be image, video, audio or document")
		}
		if (m.Media.MediaID == nil) == (m.Media.URL == "") {
			fields.Add(p+".media", "give media_id or url")
		}
		if m.Media.URL != "" {
			if u, err := url.Parse(m.Media.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				fields.Add(p+".media.url", "must be an http(s) URL")
			}
		}
		checkTemplate(fields, p+".media.caption", m.Media.Caption, 1024)
	}
}

func checkQuestion(fields crm.FieldErrors, p string, q *QuestionConfig) {
	checkMessage(fields, p, q.MessageConfig)
	if q.AnswerType == "" {
		q.AnswerType = AnswerText
	}
	switch q.AnswerType {
	case AnswerText, AnswerNumber, AnswerEmail, AnswerPhone, AnswerDate:
		if len(q.Buttons) > 0 || q.List != nil {
			fields.Add(p+".answer_type", "buttons and lists need answer_type option")
		}
	case AnswerOption:
		opts := q.options()
		if len(opts) == 0 {
			fields.Add(p+".buttons", "an option question needs buttons or a list")
		}
		for id, words := range q.Keywords {
			found := false
			for _, o := range opts {
				found = found || o.ID == id
			}
			if !found {
				fields.Add(p+".keywords", "names %q, which is not an option", id)
			}
			for _, w := range words {
				checkText(fields, p+".keywords", w, 100)
			}
		}
	default:
		fields.Add(p+".answer_type", "must be text, number, email, phone, date or option")
	}
	if q.Variable != "" {
		checkVariable(fields, p+".variable", q.Variable)
	}
	if q.ContactField != "" {
		checkContactField(fields, p+".contact_field", q.ContactField)
		if q.ContactField == "email" && q.AnswerType != AnswerEmail {
			fields.Add(p+".contact_field", "the contact's email takes an email answer")
		}
		if q.ContactField == "phone" && q.AnswerType != AnswerPhone {
			fields.Add(p+".contact_field", "the contact's phone takes a phone answer")
		}
	}
	if q.Retries < 0 || q.Retries > MaxRetries {
		fields.Add(p+".retries", "must be between 0 and %d", MaxRetries)
	}
	checkTemplate(fields, p+".retry_message", q.RetryMessage, MaxTextLength)
	if q.TimeoutS < 0 || q.TimeoutS > MaxTimeoutS {
		fields.Add(p+".timeout_s", "must be between 0 (no timeout) and %d seconds", MaxTimeoutS)
	}
}

func checkCondition(fields crm.FieldErrors, p string, c *ConditionConfig) {
	if c.Match == "" {
		c.Match = "all"
	}
	if c.Match != "all" && c.Match != "any" {
		fields.Add(p+".match", "must be all or any")
	}
	if len(c.Rules) == 0 || len(c.Rules) > MaxRules {
		fields.Add(p+".rules", "needs 1 to %d rules", MaxRules)
	}
	for i, r := range c.Rules {
		rp := fmt.Sprintf("%s.rules[%d]", p, i)
		checkText(fields, rp+".value", r.Value, 1000)
		switch r.Source {
		case SourceVariable, SourceContactField:
			if r.Source == SourceVariable {
				checkVariable(fields, rp+".key", r.Key)
			} else {
				checkContactField(fields, rp+".key", r.Key)
			}
			switch r.Op {
			case "eq", "neq", "contains", "not_contains", "starts_with", "is_set", "is_not_set":
			case "gt", "gte", "lt", "lte":
				if _, ok := parseNumber(r.Value); !ok {
					fields.Add(rp+".value", "must be a number for %s", r.Op)
				}
			default:
				fields.Add(rp+".op", "must be eq, neq, contains, not_contains, starts_with, gt, gte, lt, lte, is_set or is_not_set")
			}
		case SourceLabel:
			if r.Op != "has" && r.Op != "has_not" {
				fields.Add(rp+".op", "must be has or has_not")
			}
			if _, err := uuid.Parse(r.Value); err != nil {
				fields.Add(rp+".value", "must be a label id")
			}
		case SourceChannel:
			if r.Op != "eq" && r.Op != "neq" {
				fields.Add(rp+".op", "must be eq or neq")
			}
			if r.Value != "whatsapp" && r.Value != "instagram" && r.Value != "messenger" {
				fields.Add(rp+".value", "must be whatsapp, instagram or messenger")
			}
		case SourceBusinessHours:
			if r.Op != "in" && r.Op != "out" {
				fields.Add(rp+".op", "must be in or out")
			}
		default:
			fields.Add(rp+".source", "must be variable, contact_field, label, channel or business_hours")
		}
	}
}

func checkWebhook(fields crm.FieldErrors, p string, w *WebhookConfig) {
	if w.Method == "" {
		w.Method = "POST"
	}
	switch w.Method {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
	default:
		fields.Add(p+".method", "must be GET, POST, PUT, PATCH or DELETE")
	}
	checkTemplate(fields, p+".url", w.URL, 2000)
	if err := webhookURLError(w.URL); err != nil {
		fields.Add(p+".url", "%s", err.Error())
	}
	if len(w.Headers) > 20 {
		fields.Add(p+".headers", "at most 20 headers")
	}
	for k, v := range w.Headers {
		if !headerPattern.MatchString(k) {
			fields.Add(p+".headers", "%q is not a header name", k)
		}
		checkTemplate(fields, p+".headers."+k, v, 2000)
	}
	checkTemplate(fields, p+".body", w.Body, 64<<10)
	if w.TimeoutS == 0 {
		w.TimeoutS = 10
	}
	if w.TimeoutS < 1 || w.TimeoutS > MaxWebhookS {
		fields.Add(p+".timeout_s", "must be between 1 and %d seconds", MaxWebhookS)
	}
	if len(w.Save) > 20 {
		fields.Add(p+".save", "at most 20 values")
	}
	for i, s := range w.Save {
		sp := fmt.Sprintf("%s.save[%d]", p, i)
		checkVariable(fields, sp+".variable", s.Variable)
		if !pathPattern.MatchString(strings.TrimPrefix(s.Path, "$.")) || len(s.Path) > 200 {
			fields.Add(sp+".path", "must be a JSON path like data.items[0].name")
		}
	}
}

// webhookURLError checks a webhook URL template: http(s), and a host
// written out, never taken from a variable (so answers cannot choose where
// the bot calls).
func webhookURLError(raw string) error {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return errors.New("must start with http:// or https://")
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if host == "" || strings.Contains(host, "{{") {
		return errors.New("must name its host without variables")
	}
	u, err := url.Parse(renderURL(raw, func(string, string) string { return "x" }))
	if err != nil || u.Host == "" {
		return errors.New("is not a valid URL")
	}
	return nil
}
