// Package importer replays a history file (JSONL, metrics.md "History import") through
// the conversation engine with each line's time as the clock and the importer as the
// actor, so imported history yields exactly what live operation would have produced.
//
// Lines apply in file order, in batches of one transaction each. A line that cannot be
// applied stops the import with its line number and the reason: its batch is rolled
// back and replayed up to the line before, so nothing of the bad line is applied and
// everything before it is. Setup lines create or update by name; event lines are
// remembered in import_keys (by id, or by their natural key), so a rerun skips them.
package importer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/models"
)

// Importer applies history files.
type Importer struct {
	DB    *gorm.DB
	Inbox *inbox.Service
	Box   *secrets.Box
	// BatchSize is how many lines one transaction holds (default 1000).
	BatchSize int
	// Workers is how many transactions apply a batch of event lines side by side, each
	// with its own customers (default 2). Setup lines always apply alone.
	Workers int
}

// Options are one run's choices.
type Options struct {
	// Workspace names the workspace when the file has no workspace line ("" = the only one).
	Workspace string
	// Size is the file's size in bytes, for the progress percentage (0: unknown).
	Size int64
	// Progress receives a line a second for files over 10,000 lines (nil: silent).
	Progress io.Writer
	// ProgressAfter and ProgressEvery change those two numbers (tests).
	ProgressAfter int
	ProgressEvery time.Duration
}

// Result says what a run did.
type Result struct {
	Lines   int // lines read (blank lines included)
	Setup   int // setup lines (workspace, team, agent, channel): created or updated by name
	Applied int // event lines applied
	Skipped int // event lines already imported (a rerun)
	Elapsed time.Duration
}

// LineError is a line that could not be applied.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// ProgressAfter is how many lines a file must have before progress is printed.
const ProgressAfter = 10_000

// Run imports r.
func (im *Importer) Run(ctx context.Context, r io.Reader, opt Options) (Result, error) {
	start := time.Now()
	var res Result
	batch := im.BatchSize
	if batch <= 0 {
		batch = envBatch()
	}
	if opt.ProgressAfter <= 0 {
		opt.ProgressAfter = ProgressAfter
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = time.Second
	}
	workers := im.Workers
	if workers <= 0 {
		workers = envWorkers()
	}
	st := &run{im: im, opt: opt, keys: map[string]bool{}}
	for i := 0; i < workers; i++ {
		st.parts = append(st.parts, newPart())
	}
	if err := st.resolveDefaultWorkspace(ctx); err != nil {
		return res, err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var (
		pending  [][]byte // the current batch's lines
		firstNo  int      // line number of pending[0]
		read     int64
		lastTick = time.Now()
		touched  = map[int64]bool{}
	)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		applied, skipped, failAt, err := st.applyParallel(ctx, pending, firstNo)
		if errors.Is(err, errSequential) {
			applied, skipped, failAt, err = st.applyBatch(ctx, pending, firstNo)
		}
		if err != nil {
			// Roll back the whole batch, then replay the lines before the bad one.
			st.reset()
			if failAt > 0 {
				if _, _, _, err2 := st.applyBatch(ctx, pending[:failAt], firstNo); err2 != nil {
					return err2
				}
			}
			res.Applied += st.lastApplied
			res.Skipped += st.lastSkipped
			res.Setup += st.lastSetup
			for id := range st.batchWorkspaces {
				touched[id] = true
			}
			return err
		}
		res.Applied += applied
		res.Skipped += skipped
		res.Setup += st.lastSetup
		st.analyzeIfGrown(ctx, res.Applied)
		for id := range st.batchWorkspaces {
			touched[id] = true
		}
		pending = pending[:0]
		return nil
	}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		res.Lines = lineNo
		read += int64(len(sc.Bytes())) + 1
		if len(pending) > 0 && isWorkspaceLine(sc.Bytes()) {
			// A workspace line starts a batch of its own: a batch's lines (and the keys
			// it remembers) belong to one workspace.
			if err := flush(); err != nil {
				res.Elapsed = time.Since(start)
				st.announce(ctx, touched, res, err)
				return res, err
			}
		}
		if len(pending) == 0 {
			firstNo = lineNo
		}
		pending = append(pending, bytes.Clone(sc.Bytes()))
		if len(pending) >= batch {
			if err := flush(); err != nil {
				res.Elapsed = time.Since(start)
				st.announce(ctx, touched, res, err)
				return res, err
			}
		}
		if opt.Progress != nil && lineNo >= opt.ProgressAfter && time.Since(lastTick) >= opt.ProgressEvery {
			lastTick = time.Now()
			rate := float64(lineNo) / time.Since(start).Seconds()
			if opt.Size > 0 {
				fmt.Fprintf(opt.Progress, "import: %d lines (%.0f%%), %.0f lines/s\n", lineNo, 100*float64(read)/float64(opt.Size), rate)
			} else {
				fmt.Fprintf(opt.Progress, "import: %d lines, %.0f lines/s\n", lineNo, rate)
			}
		}
	}
	if err := sc.Err(); err != nil {
		if ferr := flush(); ferr != nil { // what came before the long line is applied first
			err = ferr
		} else if errors.Is(err, bufio.ErrTooLong) {
			err = &LineError{Line: lineNo + 1, Err: errors.New("line is longer than 16 MiB")}
		}
		res.Elapsed = time.Since(start)
		st.announce(ctx, touched, res, err)
		return res, err
	}
	err := flush()
	res.Elapsed = time.Since(start)
	st.announce(ctx, touched, res, err)
	return res, err
}

// announce tells open boards once that history arrived (imported lines publish
// nothing), and writes the import in each workspace's audit log.
func (st *run) announce(ctx context.Context, workspaces map[int64]bool, res Result, err error) {
	for id := range workspaces {
		db := st.im.DB.WithContext(ctx)
		_ = live.Publish(db, live.Event{Kind: "resync", WorkspaceID: id})
		st.im.Inbox.Changed(id)
		data := map[string]any{"lines": res.Lines, "setup": res.Setup, "events": res.Applied, "skipped": res.Skipped}
		if err != nil {
			data["error"] = err.Error()
		}
		_ = audit.Record(db, audit.Entry{WorkspaceID: id, Action: audit.Import, TargetType: "workspace", TargetID: id, Data: data})
	}
}

// analyzeIfGrown refreshes the planner's statistics when the import has grown the
// tables a lot (a fresh database has none, and autovacuum lags behind a bulk load):
// after 2,000, 20,000 and 200,000 events.
func (st *run) analyzeIfGrown(ctx context.Context, applied int) {
	if applied < st.nextAnalyze || applied == 0 {
		return
	}
	if st.nextAnalyze == 0 {
		st.nextAnalyze = 2000
		if applied < st.nextAnalyze {
			return
		}
	}
	for st.nextAnalyze <= applied {
		st.nextAnalyze *= 10
	}
	_ = st.im.DB.WithContext(ctx).Exec("ANALYZE contacts, conversations, cycles, messages, conversation_events").Error
}

// isWorkspaceLine reports a line of type workspace (cheaply: most lines are not).
func isWorkspaceLine(raw []byte) bool {
	if !bytes.Contains(raw, []byte(`"workspace"`)) {
		return false
	}
	var l struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(raw, &l) == nil && l.Type == "workspace"
}

// convRef is a contact's current conversation as the importer knows it.
type convRef struct {
	ID        int64
	ChannelID int64
}

// run is one import's state. Caches are dropped when a batch rolls back.
type run struct {
	im  *Importer
	opt Options

	ws    models.Workspace // the workspace lines apply to
	multi string           // the existing workspaces' names, when several and none was chosen
	// keys are the event keys known to be imported (loaded per workspace, then kept).
	keys       map[string]bool
	keysLoaded int64
	// parts hold the per-customer state; parts[0] serves sequential batches.
	parts    []*part
	parallel bool                   // the parts' caches were filled by a parallel batch
	users    map[string]models.User // email -> user
	teams    map[string]int64       // lower(name) -> id
	channels map[string]int64       // phone_number_id or lower(name) -> id
	onlyCh   int64
	rulePos  int // routing_rule lines take positions in file order

	batchWorkspaces map[int64]bool
	lastApplied     int
	lastSkipped     int
	batchSetup      int
	lastSetup       int
	nextAnalyze     int
}

// part is one stream of customers: the conversations the importer knows of them, their
// latest event times, and the event keys applied in the current batch. Customers are
// split among parts by a hash of their number, so no two parts share a conversation.
type part struct {
	convs   map[string]convRef  // wa_id -> conversation
	last    map[int64]time.Time // conversation -> latest event time
	newKeys []string
	seen    map[string]bool
}

func newPart() *part {
	return &part{convs: map[string]convRef{}, last: map[int64]time.Time{}, seen: map[string]bool{}}
}

func (st *run) resetParts() {
	for i := range st.parts {
		st.parts[i] = newPart()
	}
}

func (st *run) reset() {
	st.resetParts()
	st.users, st.teams, st.channels, st.onlyCh = nil, nil, nil, 0
	st.keys, st.keysLoaded = map[string]bool{}, 0
}

func (st *run) resolveDefaultWorkspace(ctx context.Context) error {
	var all []models.Workspace
	if err := st.im.DB.WithContext(ctx).Order("name").Find(&all).Error; err != nil {
		return err
	}
	if st.opt.Workspace != "" {
		for _, w := range all {
			if strings.EqualFold(w.Name, st.opt.Workspace) {
				st.ws = w
				return nil
			}
		}
		// The file's workspace line may create it.
		st.ws = models.Workspace{Name: st.opt.Workspace}
		return nil
	}
	if len(all) == 1 {
		st.ws = all[0]
	} else if len(all) > 1 {
		n := make([]string, len(all))
		for i, w := range all {
			n[i] = w.Name
		}
		st.ws = models.Workspace{Name: ""}
		st.multi = strings.Join(n, ", ")
	}
	return nil
}

// applyBatch applies lines in one transaction. On error it returns the index of the
// failing line within the batch (the transaction is rolled back).
func (st *run) applyBatch(ctx context.Context, lines [][]byte, firstNo int) (applied, skipped, failAt int, err error) {
	st.batchWorkspaces = map[int64]bool{}
	st.lastApplied, st.lastSkipped, st.lastSetup, st.batchSetup = 0, 0, 0, 0
	if st.parallel {
		st.resetParts() // the caches follow one way of splitting customers at a time
		st.parallel = false
	}
	snapshot := st.ws
	err = st.im.DB.WithContext(ctx).Session(&gorm.Session{DisableNestedTransaction: true}).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL synchronous_commit = off").Error; err != nil {
			return err
		}
		for i, raw := range lines {
			kind, err := st.apply(ctx, tx, st.parts[0], raw) // (a workspace line renews the parts)
			if err != nil {
				failAt = i
				return &LineError{Line: firstNo + i, Err: err}
			}
			switch kind {
			case lineApplied:
				applied++
			case lineSkipped:
				skipped++
			case lineSetup:
				st.batchSetup++
			}
		}
		return st.saveKeys(tx, st.parts[0].newKeys)
	})
	if err != nil {
		st.ws = snapshot
		st.resetParts()
		return 0, 0, failAt, err
	}
	st.lastApplied, st.lastSkipped, st.lastSetup = applied, skipped, st.batchSetup
	st.keep(st.parts[0])
	return applied, skipped, 0, nil
}

// keep makes a committed part's keys known and starts its next batch.
func (st *run) keep(p *part) {
	for _, k := range p.newKeys {
		st.keys[k] = true
	}
	p.newKeys, p.seen = nil, map[string]bool{}
}

// errSequential: the batch must be applied in one transaction (it has setup lines,
// or there is one worker).
var errSequential = errors.New("importer: sequential batch")

// applyParallel applies a batch of event lines in one transaction per part, each part
// its own customers, side by side. It returns errSequential for a batch it cannot
// split. On a line error every part rolls back and the error names the first bad line
// in file order (each part stops at its first, and parts apply their lines in order).
func (st *run) applyParallel(ctx context.Context, lines [][]byte, firstNo int) (applied, skipped, failAt int, err error) {
	if len(st.parts) < 2 || st.ws.ID == 0 || st.keysLoaded != st.ws.ID {
		return 0, 0, 0, errSequential
	}
	parsed := make([]line, len(lines))
	buckets := make([][]int, len(st.parts))
	owner := map[string]int{}
	for i, raw := range lines {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			parsed[i].Type = ""
			continue
		}
		if err := json.Unmarshal(raw, &parsed[i]); err != nil {
			return 0, 0, 0, errSequential // the sequential pass reports it with its line number
		}
		who := parsed[i].Contact
		switch parsed[i].Type {
		case "inbound":
			who = parsed[i].From
		case "reply", "note", "assign", "transfer", "status":
		default:
			return 0, 0, 0, errSequential
		}
		b := partOf(normalizeWaID(who), len(st.parts))
		buckets[b] = append(buckets[b], i)
		// Two customers' lines with one id (one key) would wait on each other's
		// transaction: such a batch goes in one transaction.
		at, err := time.Parse(time.RFC3339Nano, parsed[i].At)
		if err != nil {
			return 0, 0, 0, errSequential
		}
		k := key(parsed[i], at)
		if other, ok := owner[k]; ok && other != b {
			return 0, 0, 0, errSequential
		}
		owner[k] = b
	}
	// What every part reads and none writes, loaded before they start.
	if err := st.preload(ctx); err != nil {
		return 0, 0, 0, err
	}
	if !st.parallel {
		st.resetParts()
		st.parallel = true
	}
	st.batchWorkspaces = map[int64]bool{st.ws.ID: true}
	st.lastApplied, st.lastSkipped, st.lastSetup, st.batchSetup = 0, 0, 0, 0
	type outcome struct {
		tx               *gorm.DB
		applied, skipped int
		fail             int // index of the first bad line, -1 when none
		err              error
	}
	outs := make([]outcome, len(st.parts))
	var wg sync.WaitGroup
	for w := range st.parts {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			o := &outs[w]
			o.fail = -1
			p := st.parts[w]
			tx := st.im.DB.WithContext(ctx).Session(&gorm.Session{DisableNestedTransaction: true}).Begin()
			o.tx = tx
			if o.err = tx.Error; o.err != nil {
				return
			}
			// lock_timeout: should two parts ever wait on each other, fail instead of hanging.
			if o.err = tx.Exec("SET LOCAL synchronous_commit = off").Error; o.err != nil {
				return
			}
			if o.err = tx.Exec("SET LOCAL lock_timeout = '60s'").Error; o.err != nil {
				return
			}
			for _, i := range buckets[w] {
				if parsed[i].Type == "" {
					continue
				}
				ok, err := st.event(ctx, tx, p, parsed[i])
				if err != nil {
					o.fail, o.err = i, &LineError{Line: firstNo + i, Err: err}
					return
				}
				if ok {
					o.applied++
				} else {
					o.skipped++
				}
			}
			o.err = st.saveKeys(tx, p.newKeys)
		}(w)
	}
	wg.Wait()
	first := -1
	var firstErr error
	for _, o := range outs {
		if o.err == nil {
			continue
		}
		if o.fail < 0 { // not a line's fault (the database): report it as is
			first, firstErr = -1, o.err
			break
		}
		if first < 0 || o.fail < first {
			first, firstErr = o.fail, o.err
		}
	}
	if firstErr != nil {
		for _, o := range outs {
			if o.tx != nil {
				o.tx.Rollback()
			}
		}
		st.resetParts()
		if first < 0 {
			return 0, 0, 0, firstErr
		}
		return 0, 0, first, firstErr
	}
	for i, o := range outs {
		if err := o.tx.Commit().Error; err != nil {
			for _, rest := range outs[i+1:] {
				rest.tx.Rollback()
			}
			st.resetParts()
			return 0, 0, 0, fmt.Errorf("commit: %w (part of the batch may be applied: run the import again, what was applied is skipped)", err)
		}
		applied += o.applied
		skipped += o.skipped
	}
	for _, p := range st.parts {
		st.keep(p)
	}
	st.lastApplied, st.lastSkipped = applied, skipped
	return applied, skipped, 0, nil
}

// partOf is the part a customer's lines go to.
func partOf(waID string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(waID))
	return int(h.Sum32() % uint32(n))
}

// preload loads the workspace's agents, teams and channels.
func (st *run) preload(ctx context.Context) error {
	db := st.im.DB.WithContext(ctx)
	if st.users == nil {
		if _, err := st.user(db, ""); err != nil && st.users == nil {
			return err
		}
	}
	if st.teams == nil {
		if _, err := st.teamID(db, ""); err != nil && st.teams == nil {
			return err
		}
	}
	if st.channels == nil {
		if _, err := st.channelID(db, "\x00"); err != nil && st.channels == nil {
			return err
		}
	}
	return nil
}

func (st *run) saveKeys(tx *gorm.DB, keys []string) error {
	const chunk = 1000
	for i := 0; i < len(keys); i += chunk {
		part := keys[i:min(i+chunk, len(keys))]
		var sb strings.Builder
		args := make([]any, 0, 2*len(part))
		sb.WriteString("INSERT INTO import_keys (workspace_id, key) VALUES ")
		for j, k := range part {
			if j > 0 {
				sb.WriteString(",")
			}
			sb.WriteString("(?, ?)")
			args = append(args, st.ws.ID, k)
		}
		sb.WriteString(" ON CONFLICT DO NOTHING")
		if err := tx.Exec(sb.String(), args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// line is every field any line type may carry.
type line struct {
	Type     string          `json:"type"`
	Name     string          `json:"name"`
	Timezone string          `json:"timezone"`
	Color    string          `json:"color"`
	At       string          `json:"at"`
	ID       string          `json:"id"`
	Channel  string          `json:"channel"`
	From     string          `json:"from"`
	Contact  string          `json:"contact"`
	Agent    string          `json:"agent"`
	Text     string          `json:"text"`
	Team     *string         `json:"team"`
	Note     string          `json:"note"`
	Status   string          `json:"status"`
	Reason   string          `json:"reason"`
	Email    string          `json:"email"`
	Role     string          `json:"role"`
	Teams    *[]string       `json:"teams"`
	MaxConv  *int            `json:"max_conversations"`
	Phone    string          `json:"phone_number_id"`
	Display  *string         `json:"display_phone"`
	WabaID   *string         `json:"waba_id"`
	Token    string          `json:"access_token"`
	Secret   string          `json:"app_secret"`
	Verify   string          `json:"verify_token"`
	Assign   *string         `json:"assignment"`
	Calendar *string         `json:"calendar"`
	SLA      json.RawMessage `json:"sla_policy"`
	Sticky   json.RawMessage `json:"sticky"`
	Grace    json.RawMessage `json:"offline_grace"`
	Schedule json.RawMessage `json:"schedule"`
	Hours    json.RawMessage `json:"hours"`
	Holidays json.RawMessage `json:"holidays"`
	// pipeline, lead and stage lines (importer_crm.go)
	Title    string            `json:"title"`
	Value    *float64          `json:"value"`
	Currency string            `json:"currency"`
	Stage    string            `json:"stage"`
	Pipeline string            `json:"pipeline"`
	Stages   *[]crm.StageInput `json:"stages"`
	// menu and routing_rule lines (importer_routing.go)
	When     json.RawMessage `json:"when"`
	Options  json.RawMessage `json:"options"`
	Label    string          `json:"label"`
	Priority string          `json:"priority"`
	Active   *bool           `json:"active"`
	// sla_policy lines (importer_sla.go)
	slaFields
}

// What one line did.
type lineKind int

const (
	lineBlank lineKind = iota
	lineSetup
	lineApplied
	lineSkipped
)

func (st *run) apply(ctx context.Context, tx *gorm.DB, p *part, raw []byte) (lineKind, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return lineBlank, nil
	}
	var l line
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&l); err != nil {
		return 0, fmt.Errorf("not valid JSON: %v", err)
	}
	if dec.More() {
		return 0, errors.New("more than one JSON value on the line")
	}
	switch l.Type {
	case "":
		return 0, errors.New(`the line has no "type"`)
	case "workspace":
		return lineSetup, st.workspace(ctx, tx, l)
	}
	if err := st.needWorkspace(tx); err != nil {
		return 0, err
	}
	st.batchWorkspaces[st.ws.ID] = true
	switch l.Type {
	case "calendar":
		return lineSetup, st.calendar(tx, l)
	case "sla_policy":
		return lineSetup, st.slaPolicy(tx, l)
	case "team":
		return lineSetup, st.team(tx, l)
	case "agent":
		return lineSetup, st.agent(tx, l)
	case "channel":
		return lineSetup, st.channel(tx, l)
	case "pipeline":
		return lineSetup, st.pipeline(ctx, tx, l)
	case "menu":
		return lineSetup, st.menu(tx, l)
	case "routing_rule":
		return lineSetup, st.routingRule(tx, l)
	case "lead", "stage":
		applied, err := st.crmEvent(ctx, tx, p, l)
		if applied {
			return lineApplied, err
		}
		return lineSkipped, err
	case "inbound", "reply", "note", "assign", "transfer", "status":
		applied, err := st.event(ctx, tx, p, l)
		if applied {
			return lineApplied, err
		}
		return lineSkipped, err
	}
	return 0, fmt.Errorf("unknown line type %q", l.Type)
}

func (st *run) needWorkspace(tx *gorm.DB) error {
	if st.ws.ID != 0 {
		return st.loadKeys(tx)
	}
	switch {
	case st.multi != "" && st.ws.Name == "":
		return fmt.Errorf("there are several workspaces; add a workspace line or choose one with --workspace NAME (existing: %s)", st.multi)
	case st.ws.Name != "":
		return fmt.Errorf("no workspace is called %q: add a workspace line to create it", st.ws.Name)
	}
	return errors.New("there is no workspace yet: start the file with a workspace line, e.g. {\"type\":\"workspace\",\"name\":\"Demo\",\"timezone\":\"America/Lima\"}")
}

func (st *run) loadKeys(tx *gorm.DB) error {
	if st.keysLoaded == st.ws.ID {
		return nil
	}
	var keys []string
	if err := tx.Raw(`SELECT key FROM import_keys WHERE workspace_id = ?`, st.ws.ID).Scan(&keys).Error; err != nil {
		return err
	}
	st.keys = make(map[string]bool, len(keys))
	for _, k := range keys {
		st.keys[k] = true
	}
	st.keysLoaded = st.ws.ID
	return nil
}

func (st *run) workspace(ctx context.Context, tx *gorm.DB, l line) error {
	name := strings.TrimSpace(l.Name)
	if name == "" {
		return errors.New(`a workspace line needs a "name"`)
	}
	var w models.Workspace
	if err := tx.Where("lower(name) = lower(?)", name).Limit(1).Find(&w).Error; err != nil {
		return err
	}
	tz := l.Timezone
	if tz != "" {
		if _, err := time.LoadLocation(tz); err != nil {
			return fmt.Errorf("unknown time zone %q", tz)
		}
	}
	switch {
	case w.ID == 0:
		if tz == "" {
			tz = "America/Lima"
		}
		w = models.Workspace{Name: name, Timezone: tz}
		if err := tx.Create(&w).Error; err != nil {
			return err
		}
	case tz != "" && tz != w.Timezone:
		if err := tx.Model(&w).Update("timezone", tz).Error; err != nil {
			return err
		}
	}
	if st.ws.ID != w.ID {
		st.users, st.teams, st.channels, st.onlyCh = nil, nil, nil, 0
		st.resetParts()
	}
	st.ws, st.multi = w, ""
	st.batchWorkspaces[w.ID] = true
	return st.loadKeys(tx)
}

func (st *run) team(tx *gorm.DB, l line) error {
	name := strings.TrimSpace(l.Name)
	if name == "" {
		return errors.New(`a team line needs a "name"`)
	}
	routingUpd := map[string]any{}
	if err := teamRouting(l, routingUpd); err != nil {
		return err
	}
	var calendarID *int64
	if l.Calendar != nil && *l.Calendar != "" {
		var cal models.Calendar
		if err := tx.Where("workspace_id = ? AND lower(name) = lower(?)", st.ws.ID, *l.Calendar).Limit(1).Find(&cal).Error; err != nil {
			return err
		}
		if cal.ID == 0 {
			return fmt.Errorf("unknown calendar %q (add a calendar line before it)", *l.Calendar)
		}
		calendarID = &cal.ID
	}
	slaID, slaSet, err := st.teamSLAPolicy(tx, l.SLA)
	if err != nil {
		return err
	}
	mode := ""
	if l.Assign != nil {
		switch *l.Assign {
		case "round_robin", "least_busy", "manual":
			mode = *l.Assign
		default:
			return fmt.Errorf("assignment must be round_robin, least_busy or manual, not %q", *l.Assign)
		}
	}
	var t models.Team
	if err := tx.Where("workspace_id = ? AND lower(name) = lower(?)", st.ws.ID, name).Limit(1).Find(&t).Error; err != nil {
		return err
	}
	if t.ID == 0 {
		t = models.Team{WorkspaceID: st.ws.ID, Name: name, Color: "#2563eb", RoutingMode: "manual"}
		if l.Color != "" {
			t.Color = l.Color
		}
		if mode != "" {
			t.RoutingMode = mode
		}
		t.CalendarID = calendarID
		t.SLAPolicyID = slaID
		if err := tx.Create(&t).Error; err != nil {
			return err
		}
	} else {
		upd := map[string]any{}
		if mode != "" {
			upd["routing_mode"] = mode
		}
		if l.Color != "" {
			upd["color"] = l.Color
		}
		if l.Calendar != nil {
			upd["calendar_id"] = calendarID // "" unsets it
		}
		if slaSet {
			upd["sla_policy_id"] = slaID // null or "" unsets it
		}
		if len(upd) > 0 {
			if err := tx.Model(&t).Updates(upd).Error; err != nil {
				return err
			}
		}
	}
	if len(routingUpd) > 0 { // sticky, offline_grace (importer_routing.go)
		if err := tx.Model(&models.Team{}).Where("id = ?", t.ID).Updates(routingUpd).Error; err != nil {
			return err
		}
	}
	if st.teams != nil {
		st.teams[strings.ToLower(name)] = t.ID
	}
	return nil
}

func (st *run) calendar(tx *gorm.DB, l line) error {
	name := strings.TrimSpace(l.Name)
	if name == "" {
		return errors.New(`a calendar line needs a "name"`)
	}
	var hours map[string][][2]string
	var holidays []string
	if len(l.Hours) > 0 && string(l.Hours) != "null" {
		if err := json.Unmarshal(l.Hours, &hours); err != nil {
			return errors.New(`"hours" must look like {"mon":[["09:00","13:00"],["14:00","18:00"]]}`)
		}
	}
	if len(l.Holidays) > 0 && string(l.Holidays) != "null" {
		if err := json.Unmarshal(l.Holidays, &holidays); err != nil {
			return errors.New(`"holidays" must be a list of dates like ["2026-07-28"]`)
		}
	}
	var cal models.Calendar
	if err := tx.Where("workspace_id = ? AND lower(name) = lower(?)", st.ws.ID, name).Limit(1).Find(&cal).Error; err != nil {
		return err
	}
	tz := l.Timezone
	if tz == "" {
		tz = cal.Timezone
	}
	if tz == "" {
		tz = st.ws.Timezone
	}
	if hours == nil && cal.ID != 0 {
		_ = json.Unmarshal(cal.Hours, &hours)
	}
	if holidays == nil && cal.ID != 0 {
		_ = json.Unmarshal(cal.Holidays, &holidays)
	}
	if _, err := calendar.Parse(tz, hours, holidays); err != nil {
		return err
	}
	hb, _ := json.Marshal(hours)
	if hours == nil {
		hb = []byte("{}")
	}
	if holidays == nil {
		holidays = []string{}
	}
	db, _ := json.Marshal(holidays)
	if cal.ID == 0 {
		cal = models.Calendar{WorkspaceID: st.ws.ID, Name: name, Timezone: tz, Hours: hb, Holidays: db}
		return tx.Create(&cal).Error
	}
	return tx.Model(&cal).Updates(map[string]any{"timezone": tz, "hours": models.JSON(hb), "holidays": models.JSON(db), "updated_at": gorm.Expr("now()")}).Error
}

func (st *run) teamID(tx *gorm.DB, name string) (int64, error) {
	if st.teams == nil {
		var rows []models.Team
		if err := tx.Where("workspace_id = ?", st.ws.ID).Find(&rows).Error; err != nil {
			return 0, err
		}
		st.teams = map[string]int64{}
		for _, t := range rows {
			st.teams[strings.ToLower(t.Name)] = t.ID
		}
	}
	id, ok := st.teams[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return 0, fmt.Errorf("unknown team %q (add a team line before it)", name)
	}
	return id, nil
}

func (st *run) agent(tx *gorm.DB, l line) error {
	email := strings.ToLower(strings.TrimSpace(l.Email))
	if email == "" || !strings.Contains(email, "@") {
		return errors.New(`an agent line needs an "email"`)
	}
	setSchedule, schedule, err := st.agentSchedule(tx, l) // importer_routing.go
	if err != nil {
		return err
	}
	role := l.Role
	switch role {
	case "", models.RoleAgent, models.RoleSupervisor, models.RoleAdmin:
	default:
		return fmt.Errorf("role must be admin, supervisor or agent, not %q", role)
	}
	if l.MaxConv != nil && (*l.MaxConv < 0 || *l.MaxConv > 500) {
		return errors.New("max_conversations must be between 0 and 500")
	}
	var teamIDs []int64
	if l.Teams != nil {
		for _, t := range *l.Teams {
			id, err := st.teamID(tx, t)
			if err != nil {
				return err
			}
			teamIDs = append(teamIDs, id)
		}
	}
	var u models.User
	if err := tx.Where("workspace_id = ? AND lower(email) = ?", st.ws.ID, email).Limit(1).Find(&u).Error; err != nil {
		return err
	}
	if u.ID == 0 {
		name := strings.TrimSpace(l.Name)
		if name == "" {
			name = email
		}
		if role == "" {
			role = models.RoleAgent
		}
		// No password: an imported agent signs in once an admin sets one (Configuración → Usuarios).
		u = models.User{WorkspaceID: st.ws.ID, Email: email, Name: name, Role: role, PasswordHash: "!", Active: true,
			MaxConcurrent: 10, Presence: models.PresenceOffline}
		if l.MaxConv != nil {
			u.MaxConcurrent = *l.MaxConv
		}
		if err := tx.Create(&u).Error; err != nil {
			return err
		}
	} else {
		upd := map[string]any{}
		if n := strings.TrimSpace(l.Name); n != "" {
			upd["name"] = n
		}
		if role != "" {
			upd["role"] = role
		}
		if l.MaxConv != nil {
			upd["max_concurrent"] = *l.MaxConv
		}
		if len(upd) > 0 {
			if err := tx.Model(&u).Updates(upd).Error; err != nil {
				return err
			}
		}
	}
	if setSchedule {
		if err := tx.Model(&models.User{}).Where("id = ?", u.ID).Update("schedule_calendar_id", schedule).Error; err != nil {
			return err
		}
	}
	if l.Teams != nil {
		if err := tx.Exec(`DELETE FROM team_members WHERE user_id = ? AND workspace_id = ?`, u.ID, st.ws.ID).Error; err != nil {
			return err
		}
		for _, id := range teamIDs {
			if err := tx.Exec(`INSERT INTO team_members (workspace_id, team_id, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				st.ws.ID, id, u.ID).Error; err != nil {
				return err
			}
		}
	}
	st.users = nil
	return nil
}

func (st *run) user(tx *gorm.DB, email string) (models.User, error) {
	if st.users == nil {
		var rows []models.User
		if err := tx.Where("workspace_id = ?", st.ws.ID).Find(&rows).Error; err != nil {
			return models.User{}, err
		}
		st.users = map[string]models.User{}
		for _, u := range rows {
			st.users[strings.ToLower(u.Email)] = u
		}
	}
	u, ok := st.users[strings.ToLower(strings.TrimSpace(email))]
	if !ok {
		return u, fmt.Errorf("unknown agent %q (add an agent line before it)", email)
	}
	if !u.Active {
		return u, fmt.Errorf("agent %q is deactivated", email)
	}
	return u, nil
}

func (st *run) channel(tx *gorm.DB, l line) error {
	name := strings.TrimSpace(l.Name)
	pnid := strings.TrimSpace(l.Phone)
	if name == "" || pnid == "" {
		return errors.New(`a channel line needs a "name" and a "phone_number_id"`)
	}
	for _, r := range pnid {
		if r < '0' || r > '9' {
			return fmt.Errorf("phone_number_id must be digits, not %q", pnid)
		}
	}
	var ch models.Channel
	if err := tx.Where("phone_number_id = ?", pnid).Limit(1).Find(&ch).Error; err != nil {
		return err
	}
	if ch.ID != 0 && ch.WorkspaceID != st.ws.ID {
		return fmt.Errorf("phone_number_id %s is connected in another workspace", pnid)
	}
	if ch.ID == 0 {
		if err := tx.Where("workspace_id = ? AND lower(name) = lower(?)", st.ws.ID, name).Limit(1).Find(&ch).Error; err != nil {
			return err
		}
	}
	seal := func(s string) []byte {
		if s = strings.TrimSpace(s); s == "" || st.im.Box == nil {
			return nil
		}
		return st.im.Box.Seal(s)
	}
	if ch.ID == 0 {
		ch = models.Channel{WorkspaceID: st.ws.ID, Name: name, PhoneNumberID: pnid, WebhookKey: newKey(), Active: true,
			AccessTokenEnc: seal(l.Token), AppSecretEnc: seal(l.Secret), VerifyTokenEnc: seal(l.Verify)}
		if l.Display != nil {
			ch.DisplayPhone = *l.Display
		}
		if l.WabaID != nil {
			ch.WabaID = *l.WabaID
		}
		if err := tx.Create(&ch).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return fmt.Errorf("a channel called %q already exists with another number", name)
			}
			return err
		}
	} else {
		upd := map[string]any{"name": name, "phone_number_id": pnid}
		if l.Display != nil {
			upd["display_phone"] = *l.Display
		}
		if l.WabaID != nil {
			upd["waba_id"] = *l.WabaID
		}
		for col, v := range map[string]string{"access_token_enc": l.Token, "app_secret_enc": l.Secret, "verify_token_enc": l.Verify} {
			if b := seal(v); b != nil {
				upd[col] = b
			}
		}
		if err := tx.Model(&ch).Updates(upd).Error; err != nil {
			return err
		}
	}
	st.channels, st.onlyCh = nil, 0
	return nil
}

func (st *run) channelID(tx *gorm.DB, ref string) (int64, error) {
	if st.channels == nil {
		var rows []models.Channel
		if err := tx.Where("workspace_id = ?", st.ws.ID).Find(&rows).Error; err != nil {
			return 0, err
		}
		st.channels = map[string]int64{}
		for _, c := range rows {
			st.channels[c.PhoneNumberID] = c.ID
			st.channels["name:"+strings.ToLower(c.Name)] = c.ID
		}
		if len(rows) == 1 {
			st.onlyCh = rows[0].ID
		}
	}
	ref = strings.TrimSpace(ref)
	if ref == "" {
		if st.onlyCh != 0 {
			return st.onlyCh, nil
		}
		if len(st.channels) == 0 {
			return 0, errors.New("the workspace has no channel: add a channel line before it")
		}
		return 0, errors.New(`the workspace has several channels: say which with "channel"`)
	}
	if id, ok := st.channels[ref]; ok {
		return id, nil
	}
	if id, ok := st.channels["name:"+strings.ToLower(ref)]; ok {
		return id, nil
	}
	return 0, fmt.Errorf("unknown channel %q (add a channel line before it)", ref)
}

// key is an event line's identity: its id, or its type, time, contact, agent and text.
func key(l line, at time.Time) string {
	if l.ID != "" {
		return l.Type + ":" + l.ID
	}
	team := ""
	if l.Team != nil {
		team = *l.Team
	}
	h := sha256.New()
	for _, p := range []string{l.Type, at.UTC().Format(time.RFC3339Nano), l.Contact + l.From, strings.ToLower(l.Agent), l.Text,
		l.Status, l.Reason, l.Note, team, l.Channel} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return l.Type + "#" + hex.EncodeToString(h.Sum(nil)[:16])
}

func (st *run) event(ctx context.Context, tx *gorm.DB, p *part, l line) (bool, error) {
	if l.At == "" {
		return false, fmt.Errorf(`a %s line needs "at" (RFC 3339)`, l.Type)
	}
	at, err := time.Parse(time.RFC3339Nano, l.At)
	if err != nil {
		return false, fmt.Errorf("at %q is not an RFC 3339 time", l.At)
	}
	k := key(l, at)
	if st.keys[k] || p.seen[k] {
		return false, nil
	}
	clk := clock.NewManual(at)
	svc := st.im.Inbox.WithTx(tx, clk)
	actor := inbox.As(inbox.ActorImporter, st.ws)
	if l.Agent != "" && l.Type != "assign" && l.Type != "transfer" {
		u, err := st.user(tx, l.Agent)
		if err != nil {
			return false, err
		}
		actor.User = &u
	}
	if l.Type == "inbound" {
		ok, err := st.inbound(ctx, tx, p, svc, l, at, k)
		if ok {
			p.newKeys = append(p.newKeys, k)
			p.seen[k] = true
		}
		return ok, err
	}
	waID := normalizeWaID(l.Contact)
	if waID == "" {
		return false, fmt.Errorf(`a %s line needs "contact" (the customer's wa_id)`, l.Type)
	}
	conv, err := st.conversation(tx, p, waID)
	if err != nil {
		return false, err
	}
	if err := st.checkTime(tx, p, conv.ID, at); err != nil {
		return false, err
	}
	switch l.Type {
	case "reply":
		if actor.User == nil {
			return false, errors.New(`a reply line needs "agent" (who wrote it)`)
		}
		_, err = svc.Reply(ctx, actor, conv.ID, l.Text, "")
	case "note":
		_, err = svc.AddNote(ctx, actor, conv.ID, l.Text)
	case "assign":
		if l.Agent == "" {
			return false, errors.New(`an assign line needs "agent"`)
		}
		u, uerr := st.user(tx, l.Agent)
		if uerr != nil {
			return false, uerr
		}
		err = svc.Assign(ctx, actor, conv.ID, u.ID)
	case "transfer":
		in := inbox.TransferInput{Note: l.Note}
		if l.Team != nil {
			id, terr := st.teamID(tx, *l.Team)
			if terr != nil {
				return false, terr
			}
			in.TeamID = &id
		}
		if l.Agent != "" {
			u, uerr := st.user(tx, l.Agent)
			if uerr != nil {
				return false, uerr
			}
			in.AgentID = &u.ID
		}
		err = svc.Transfer(ctx, actor, conv.ID, in)
	case "status":
		if l.Status == "" {
			return false, errors.New(`a status line needs "status" (new, active, pending or closed)`)
		}
		reason := l.Reason
		if reason == "" {
			reason = l.Note
		}
		err = svc.SetStatus(ctx, actor, conv.ID, l.Status, reason)
	}
	if err != nil {
		return false, explain(err)
	}
	p.last[conv.ID] = at
	p.newKeys = append(p.newKeys, k)
	p.seen[k] = true
	return true, nil
}

// explain turns a domain error into the reason a line failed.
func explain(err error) error {
	var v apperr.Validation
	var c apperr.Conflict
	switch {
	case errors.As(err, &v):
		return errors.New(v.Error())
	case errors.As(err, &c):
		return errors.New(c.Msg)
	case errors.Is(err, apperr.ErrNotFound):
		return errors.New("the conversation does not exist")
	}
	return err
}

func (st *run) inbound(ctx context.Context, tx *gorm.DB, p *part, svc *inbox.Service, l line, at time.Time, k string) (bool, error) {
	waID := normalizeWaID(l.From)
	if waID == "" {
		return false, errors.New(`an inbound line needs "from" (the customer's wa_id)`)
	}
	if strings.TrimSpace(l.Text) == "" {
		return false, errors.New(`an inbound line needs "text"`)
	}
	chID, err := st.channelID(tx, l.Channel)
	if err != nil {
		return false, err
	}
	var pin *int64
	if l.Team != nil && *l.Team != "" {
		id, err := st.teamID(tx, *l.Team)
		if err != nil {
			return false, err
		}
		pin = &id
	}
	wamid := l.ID
	if wamid == "" {
		wamid = "import:" + k
	}
	// A message already stored (it arrived live, or an earlier import) is skipped, whatever its time.
	known := func(err error) (bool, error) {
		var n int64
		if qerr := tx.Model(&models.Message{}).Where("channel_id = ? AND wamid = ?", chID, wamid).Count(&n).Error; qerr != nil {
			return false, qerr
		}
		if n > 0 {
			return false, nil
		}
		return false, err
	}
	if ref, ok := p.convs[waID]; ok && ref.ChannelID == chID {
		if err := st.checkTime(tx, p, ref.ID, at); err != nil {
			return known(err)
		}
	} else {
		var id int64
		if err := tx.Raw(`SELECT c.id FROM conversations c
			WHERE c.channel_id = ? AND c.contact_id = (SELECT id FROM contacts WHERE workspace_id = ? AND wa_id = ? AND wa_id <> '')`, chID, st.ws.ID, waID).Row().Scan(&id); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		if id != 0 {
			if err := st.checkTime(tx, p, id, at); err != nil {
				return known(err)
			}
		}
	}
	r, err := svc.ReceiveInbound(ctx, tx, inbox.Inbound{WorkspaceID: st.ws.ID, ChannelID: chID, WaID: waID, ProfileName: strings.TrimSpace(l.Name),
		Wamid: wamid, At: at, Kind: models.KindText, Body: l.Text, PinTeamID: pin, History: true})
	if err != nil {
		return false, err
	}
	p.convs[waID] = convRef{ID: r.ConversationID, ChannelID: chID}
	if r.Duplicate {
		return false, nil
	}
	p.last[r.ConversationID] = at
	return true, nil
}

func newKey() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// conversation is the contact's conversation on the channel of its latest inbound.
func (st *run) conversation(tx *gorm.DB, p *part, waID string) (convRef, error) {
	if ref, ok := p.convs[waID]; ok {
		return ref, nil
	}
	var rows []struct {
		ID        int64
		ChannelID int64
	}
	if err := tx.Raw(`SELECT c.id, c.channel_id FROM conversations c
		WHERE c.contact_id = (SELECT id FROM contacts WHERE workspace_id = ? AND wa_id = ? AND wa_id <> '') AND c.last_inbound_at IS NOT NULL
		ORDER BY c.last_inbound_at DESC, c.id DESC LIMIT 1`, st.ws.ID, waID).Scan(&rows).Error; err != nil {
		return convRef{}, err
	}
	if len(rows) == 0 {
		var n int64
		if err := tx.Model(&models.Contact{}).Where("workspace_id = ? AND wa_id = ?", st.ws.ID, waID).Count(&n).Error; err != nil {
			return convRef{}, err
		}
		if n == 0 {
			return convRef{}, fmt.Errorf("unknown contact %q: no inbound line from this number before it", waID)
		}
		return convRef{}, fmt.Errorf("contact %q has no conversation that ever received a message", waID)
	}
	ref := convRef{ID: rows[0].ID, ChannelID: rows[0].ChannelID}
	p.convs[waID] = ref
	return ref, nil
}

// checkTime refuses an event older than the conversation's latest one.
func (st *run) checkTime(tx *gorm.DB, p *part, convID int64, at time.Time) error {
	last, ok := p.last[convID]
	if !ok {
		var t *time.Time
		if err := tx.Raw(`SELECT GREATEST((SELECT max(created_at) FROM messages WHERE conversation_id = ?),
			(SELECT max(at) FROM conversation_events WHERE conversation_id = ?))`, convID, convID).Row().Scan(&t); err != nil {
			return err
		}
		if t != nil {
			last = *t
		}
		p.last[convID] = last
	}
	if at.Before(last) {
		return fmt.Errorf("time goes backwards for this conversation: %s is before its previous event at %s",
			at.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))
	}
	return nil
}

func normalizeWaID(s string) string {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "+"))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, s)
}

func envWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("ATIENDE_IMPORT_WORKERS")); err == nil && n > 0 {
		return n
	}
	return 2
}

func envBatch() int {
	if n, err := strconv.Atoi(os.Getenv("ATIENDE_IMPORT_BATCH")); err == nil && n > 0 {
		return n
	}
	return 1000
}
