package inbox_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// boardSeed is a workspace filled in bulk for speed figures: the people who sign in
// are real users; the rest (agents, contacts, conversations, messages) is generated.
type boardSeed struct {
	app        *testutil.App
	ws         models.Workspace
	teams      []models.Team
	admin, sup models.User
	agent      models.User // an agent of the first team, with conversations of their own
	channels   []int64
}

// seedBoard creates a workspace with `conversations` conversations, `open` of them not
// closed, and `messages` messages, with INSERT … SELECT generate_series (seconds, not
// minutes, for millions of rows), then ANALYZEs, as a database in production would be.
// Indexes on messages are dropped for the load and built again afterwards, which is
// how a bulk load is done.
//
// Benchmarks seed once: the seeded database is kept as a template (see
// seedBoardCached) and each run works on a copy of it, the very same rows.
func seedBoard(tb testing.TB, conversations, open, messages int) boardSeed {
	tb.Helper()
	if _, bench := tb.(*testing.B); bench {
		return seedBoardCached(tb, conversations, open, messages)
	}
	return seedBoardInto(tb, testutil.NewApp(tb), conversations, open, messages)
}

func seedBoardInto(tb testing.TB, app *testutil.App, conversations, open, messages int) boardSeed {
	tb.Helper()
	start := time.Now()
	s := boardSeed{app: app, ws: app.Workspace("Bench")}
	for _, name := range []string{"Ventas", "Soporte", "Cobranzas"} {
		s.teams = append(s.teams, app.Team(s.ws, name))
	}
	s.admin = app.User(s.ws, "admin@bench.pe", models.RoleAdmin)
	s.sup = app.User(s.ws, "sup@bench.pe", models.RoleSupervisor, s.teams[0], s.teams[1])
	s.agent = app.User(s.ws, "agente@bench.pe", models.RoleAgent, s.teams[0])
	s.channels = []int64{app.Channel(s.ws, "Principal").ID, app.Channel(s.ws, "Soporte").ID}

	db := app.DB.Gorm
	exec := func(sql string, args ...any) {
		tb.Helper()
		t0 := time.Now()
		if err := db.Exec(sql, args...).Error; err != nil {
			tb.Fatalf("seed: %v\n%s", err, sql)
		}
		if testing.Verbose() && time.Since(t0) > time.Second {
			tb.Logf("seed step %s: %.80s", time.Since(t0).Round(time.Millisecond), strings.Join(strings.Fields(sql), " "))
		}
	}
	// bulk drops table's indexes matching pattern (all but the primary key), runs load,
	// and builds them again: far faster than maintaining them row by row.
	bulk := func(table, pattern string, load func()) {
		tb.Helper()
		var defs []struct{ Indexname, Indexdef string }
		testutil.Must(tb, db.Raw(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ? AND indexname LIKE ? AND indexname <> ?`,
			table, pattern, table+"_pkey").Scan(&defs).Error)
		for _, d := range defs {
			exec(`DROP INDEX ` + d.Indexname)
		}
		load()
		for _, d := range defs {
			exec(`SET maintenance_work_mem = '256MB'; ` + d.Indexdef)
		}
	}
	ws := s.ws.ID
	teams := []int64{s.teams[0].ID, s.teams[1].ID, s.teams[2].ID}

	// 30 more agents, ten per team, who never sign in.
	exec(`INSERT INTO users (workspace_id, email, name, password_hash, role, presence, last_seen_at)
		SELECT ?, 'agente' || i || '@bench.pe', (ARRAY['Ana','Luis','Carla','Jorge','Rosa','Diego','Lucía','Pedro','Sofía','Miguel'])[1 + i % 10]
			|| ' ' || (ARRAY['Ruiz','Quispe','Torres','Rojas','Flores','Castillo','Paredes','Salazar'])[1 + i % 8],
			'x', 'agent', (ARRAY['online','busy','offline'])[1 + i % 3], now()
		FROM generate_series(1, 30) i`, ws)
	exec(`INSERT INTO team_members (workspace_id, team_id, user_id)
		SELECT ?, (ARRAY[?, ?, ?]::bigint[])[1 + (row_number() OVER (ORDER BY id))::int % 3], id
		FROM users WHERE workspace_id = ? AND password_hash = 'x'`, ws, teams[0], teams[1], teams[2], ws)
	var agents []int64
	testutil.Must(tb, db.Raw(`SELECT id FROM users WHERE workspace_id = ? AND role = 'agent' ORDER BY id`, ws).Scan(&agents).Error)
	exec(`INSERT INTO labels (workspace_id, name, color) VALUES (?, 'Ventas', '#2563eb'), (?, 'Soporte', '#7c3aed'),
		(?, 'Cobranzas', '#c2410c'), (?, 'VIP', '#be185d'), (?, 'Reclamo', '#b91c1c')`, ws, ws, ws, ws, ws)

	// Contacts: one per conversation, names and companies from small vocabularies.
	bulk("contacts", "%search%", func() {
		exec(`INSERT INTO contacts (workspace_id, wa_id, phone, country, name, profile_name, company, created_at, updated_at)
		SELECT ?, '519' || lpad(i::text, 8, '0'), '+519' || lpad(i::text, 8, '0'), 'PE',
			CASE WHEN i % 4 = 0 THEN '' ELSE (ARRAY['María','José','Luis','Carmen','Jorge','Rosa','Pedro','Lucía','Andrés','Valeria','Diego','Gabriela','Fernando','Patricia','Ricardo','Sofía'])[1 + i % 16]
				|| ' ' || (ARRAY['Quispe','Flores','Sánchez','Ramírez','Torres','Rojas','Mendoza','Castillo','Huamán','Paredes','Salazar','Vargas','Chávez','Gutiérrez'])[1 + (i / 16) % 14] END,
			(ARRAY['Mari','Jose','Lu','Carmen R','J','Rosita','Pedro','Lucy'])[1 + i % 8] || i % 97, -- seedProfileNames
			CASE WHEN i % 3 = 0 THEN '' ELSE (ARRAY['Ferretería','Clínica','Distribuidora','Colegio','Constructora','Minimarket','Transportes','Estudio'])[1 + i % 8]
				|| ' ' || (ARRAY['El Sol','San Gabriel','Norte','Santa Rosa','Lima Sur','Andina','del Pacífico','Central'])[1 + (i / 8) % 8] || ' ' || i % 500 END,
			now(), now()
		FROM generate_series(1, ?) i`, ws, conversations)
	})

	// Conversations: the first `open` are new/active/pending within the last 3 days;
	// the rest are closed, spread over a year. A tenth have no team; 40% of the open
	// ones wait unassigned.
	agentArray := "{" + strings.Trim(strings.Join(strings.Fields(fmt.Sprint(agents)), ","), "[]") + "}"
	exec(fmt.Sprintf(`INSERT INTO conversations (workspace_id, channel_id, contact_id, status, team_id, assignee_id,
			last_message_at, last_message_preview, last_message_out, last_inbound_at, waiting_since, unread_count,
			closed_at, sla_state, first_response_due_at, created_at, updated_at)
		SELECT %[1]d, (ARRAY[%[2]d, %[3]d])[1 + (i %% 7 = 0)::int], k.id,
			CASE WHEN i <= %[4]d THEN (ARRAY['new','active','pending'])[1 + i %% 3] ELSE 'closed' END,
			CASE WHEN i %% 10 = 0 THEN NULL ELSE (ARRAY[%[5]d, %[6]d, %[7]d])[1 + i %% 3] END,
			CASE WHEN i <= %[4]d AND i %% 5 < 2 THEN NULL ELSE ('%[8]s'::bigint[])[1 + (i * 7) %% %[9]d] END,
			at, 'Mensaje ' || i, i %% 3 = 2, at - interval '1 minute', CASE WHEN i <= %[4]d AND i %% 3 < 2 THEN at END,
			(i %% 4 = 0)::int,
			CASE WHEN i > %[4]d THEN at + interval '30 minutes' END,
			CASE WHEN i <= %[4]d THEN (ARRAY['','ok','warning','breached'])[1 + i %% 4] ELSE '' END,
			CASE WHEN i <= %[4]d THEN at + interval '1 hour' END, at, at
		FROM (SELECT i, CASE WHEN i <= %[4]d THEN now() - (i::float / %[4]d * interval '3 days')
				ELSE now() - ((i - %[4]d)::float / %[10]d * interval '365 days') END AS at
			FROM generate_series(1, %[11]d) i) g
		JOIN contacts k ON k.workspace_id = %[1]d AND k.wa_id = '519' || lpad(g.i::text, 8, '0')`,
		ws, s.channels[0], s.channels[1], open, teams[0], teams[1], teams[2], agentArray, len(agents),
		max(1, conversations-open), conversations))
	// The signed-in agent owns a fair share of the open ones in their team.
	exec(`UPDATE conversations SET assignee_id = ? WHERE workspace_id = ? AND status <> 'closed' AND team_id = ? AND id % 20 = 1`, s.agent.ID, ws, teams[0])
	exec(`INSERT INTO conversation_labels (workspace_id, conversation_id, label_id)
		SELECT ?, c.id, l.id FROM conversations c JOIN labels l ON l.workspace_id = ? AND l.id = (SELECT min(id) FROM labels WHERE workspace_id = ?) + c.id % 5
		WHERE c.workspace_id = ? AND c.id % 3 = 0`, ws, ws, ws, ws)

	// Messages: bodies of 4 to 10 words from a Spanish vocabulary, spread over the
	// conversations, both directions.
	bulk("messages", "%", func() {
		// 4,096 distinct bodies are built once and dealt out: building a sentence per
		// row would take minutes for 2M rows.
		exec(`WITH w AS (SELECT ARRAY['hola','buenos','días','tardes','gracias','necesito','cotización','factura','pedido','entrega',
				'precio','producto','stock','envío','pago','transferencia','boleta','dirección','mañana','hoy','urgente','consulta',
				'reclamo','garantía','modelo','unidades','descuento','cliente','empresa','contrato','renovación','plan','anual',
				'soporte','problema','acceso','contraseña','sistema','reporte','cuenta','cobranza','vencida','cuota','saldo',
				'taladro','cemento','clínica','cita','colegio','matrícula','ruta','camión','almacén','proforma','orden','compra',
				'confirmo','perfecto','listo','ayuda','favor','cuánto','cuándo','dónde','por','para','con','sin','más','menos'] AS words),
			bodies AS MATERIALIZED (SELECT n, (SELECT string_agg(w.words[1 + ((n * 31 + j * 17 + j * j * 7) % array_length(w.words, 1))], ' ')
					FROM w, generate_series(1, 4 + n % 7) j) AS b
				FROM generate_series(0, 4095) n),
			first AS (SELECT min(id) AS id FROM conversations WHERE workspace_id = ?)
		INSERT INTO messages (workspace_id, conversation_id, channel_id, direction, kind, body, wamid, sender_type, status, created_at)
		SELECT ?, c.id, c.channel_id, CASE WHEN m % 2 = 0 THEN 'in' ELSE 'out' END, 'text', bodies.b,
			'wamid.bench.' || m, CASE WHEN m % 2 = 0 THEN 'contact' ELSE 'agent' END, CASE WHEN m % 2 = 0 THEN '' ELSE 'read' END,
			c.last_message_at - (m % 13) * interval '3 minutes'
		FROM generate_series(1, ?) m JOIN bodies ON bodies.n = (m * 13) % 4096 CROSS JOIN first
		JOIN conversations c ON c.id = first.id + (m::bigint * 7919) % ?`,
			ws, ws, messages, conversations)
	})
	// The bulk load's count changes are folded as a board read folds them in a busy
	// workspace (every 200), so each run starts from folded counts, not 200,000 changes.
	s.app.LoginAs(s.admin).Get("/board")
	exec(`VACUUM ANALYZE board_counts`)
	exec(`VACUUM ANALYZE board_count_deltas`)
	exec(`VACUUM ANALYZE conversations`)
	exec(`VACUUM ANALYZE messages`)
	exec(`VACUUM ANALYZE contacts`)
	exec(`VACUUM ANALYZE conversation_labels`)
	exec(`VACUUM ANALYZE users`)
	// The load wrote gigabytes: flush them now, not during the measurement.
	exec(`CHECKPOINT`)
	if testing.Verbose() {
		tb.Logf("seeded %d conversations (%d open) and %d messages in %s", conversations, open, messages, time.Since(start).Round(time.Millisecond))
	}
	return s
}

// BenchmarkBoard measures the board over real HTTP with 16 clients at once on 200,000
// conversations (10,000 not closed) and 2,000,000 messages: the full page and a column
// partial, signed in as admin, supervisor and agent in turn. It prints p50/p95/p99;
// targets: page p95 < 50 ms, column p95 < 20 ms.
func BenchmarkBoard(b *testing.B) {
	if testing.Short() {
		b.Skip("seeding 2M messages is not short")
	}
	s := seedBoard(b, 200_000, 10_000, 2_000_000)
	const clients = 16
	users := []models.User{s.admin, s.sup, s.agent}
	transport := &http.Transport{MaxIdleConnsPerHost: clients * 2}
	pool := make([]*testutil.Client, clients)
	for i := range pool {
		pool[i] = s.app.LoginAs(users[i%len(users)])
		pool[i].HTTP.Transport = transport
	}
	// Warm up caches and connections, as a running server would be.
	for _, c := range pool {
		c.Get("/board")
	}
	b.ResetTimer()
	for range b.N {
		page := measure(b, pool, 40, func(c *testutil.Client, i int) int {
			return fetch(c, "/board", false)
		})
		column := measure(b, pool, 80, func(c *testutil.Client, i int) int {
			return fetch(c, "/board/columns/"+[]string{"new", "active", "pending", "closed"}[i%4], true)
		})
		cursor := cursorFor(b, s)
		more := measure(b, pool, 80, func(c *testutil.Client, i int) int {
			return fetch(c, "/board/columns/closed?cursor="+cursor, true)
		})
		search := measure(b, pool, 10, func(c *testutil.Client, i int) int {
			q := []string{"ferreteria+norte", "51900012", "garantía+modelo", "quispe"}[i%4]
			return fetch(c, "/board?q="+q, false)
		})
		// One client alone: the service time, without queueing behind the others.
		alonePage := measure(b, pool[:1], 30, func(c *testutil.Client, i int) int { return fetch(c, "/board", false) })
		aloneColumn := measure(b, pool[:1], 60, func(c *testutil.Client, i int) int {
			return fetch(c, "/board/columns/"+[]string{"new", "active", "pending", "closed"}[i%4], true)
		})
		fmt.Printf("%d clients at once:\n", clients)
		report(b, "GET /board (full page)", page, 50*time.Millisecond)
		report(b, "GET /board/columns/:status (partial)", column, 20*time.Millisecond)
		report(b, "GET /board/columns/closed?cursor= (Cargar más)", more, 20*time.Millisecond)
		report(b, "GET /board?q= (search)", search, 0)
		fmt.Println("one client alone:")
		report(b, "GET /board (full page)", alonePage, 0)
		report(b, "GET /board/columns/:status (partial)", aloneColumn, 0)
		b.ReportMetric(ms(pct(page, 95)), "page-p95-ms")
		b.ReportMetric(ms(pct(column, 95)), "column-p95-ms")
	}
}

var benchCursor struct {
	once sync.Once
	v    string
}

// cursorFor is a cursor twenty-five cards down Cerrados (the second page).
func cursorFor(b *testing.B, s boardSeed) string {
	benchCursor.once.Do(func() {
		res := s.app.LoginAs(s.admin).HTMX(http.MethodGet, "/board/columns/closed", nil)
		doc := res.Doc(b)
		href := doc.Find(`[data-testid="more-closed"]`).AttrOr("hx-get", "")
		_, after, _ := strings.Cut(href, "cursor=")
		benchCursor.v, _, _ = strings.Cut(after, "&")
	})
	return benchCursor.v
}

// fetch GETs path as a browser does (htmx for partials) and reads the whole answer.
// testutil.Client.Get would also parse every page looking for a CSRF token, which is
// the client's work, not the server's.
func fetch(c *testutil.Client, path string, htmx bool) int {
	req, _ := http.NewRequest(http.MethodGet, c.Base+path, nil)
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	// Compressed, as a browser asks for it; the body is read as it comes, not
	// inflated: a browser does that on its own machine, and here it would take the
	// CPU the server is being measured on.
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// measure runs perClient requests on every client at once and returns each duration.
func measure(b testing.TB, pool []*testutil.Client, perClient int, do func(c *testutil.Client, i int) int) []time.Duration {
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	for _, c := range pool {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, perClient)
			for i := range perClient {
				t0 := time.Now()
				if code := do(c, i); code != http.StatusOK {
					b.Errorf("status %d", code)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	return all
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, (len(sorted)*p+99)/100-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(b *testing.B, name string, d []time.Duration, target time.Duration) {
	verdict := ""
	if target > 0 {
		verdict = fmt.Sprintf("  (target p95 < %s: %s)", target, map[bool]string{true: "ok", false: "MISSED"}[pct(d, 95) < target])
	}
	fmt.Printf("%-48s n=%-5d p50=%6.1fms  p95=%6.1fms  p99=%6.1fms%s\n", name, len(d), ms(pct(d, 50)), ms(pct(d, 95)), ms(pct(d, 99)), verdict)
}
