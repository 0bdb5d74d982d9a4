package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/app/jobs"
	"github.com/atiende/atiende/app/testutil"
)

// The test binary doubles as the atiende binary: with this variable set it runs
// the command line it was given, so tests can start real `serve` processes.
const subprocessEnv = "ATIENDE_MAIN_TEST_SUBPROCESS"

func TestMain(m *testing.M) {
	if os.Getenv(subprocessEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

var configVars = []string{"DATABASE_URL", "PORT", "WHATSAPP_GRAPH_URL", "ATIENDE_SECRET_KEY", "ATIENDE_ENV", "LOG_LEVEL",
	"TRUSTED_PROXIES", "METRICS_TOKEN", "METRICS_ADDR"}

// atiende runs the command in-process with exactly the given configuration.
func atiende(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	for _, k := range configVars {
		t.Setenv(k, env[k])
	}
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	code, out, errs := atiende(t, env, args...)
	if code != 0 {
		t.Fatalf("atiende %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// atiendeProcess runs the command as a separate process, so a command that should
// refuse to start but serves instead fails the test rather than hanging it.
func atiendeProcess(t *testing.T, env map[string]string, args ...string) (code int, output string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), subprocessEnv+"=1")
	for _, k := range configVars {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("atiende %s still running after 20 s (it should have refused to start):\n%s", strings.Join(args, " "), out)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func assertNoStackTrace(t *testing.T, stderr string) {
	t.Helper()
	for _, s := range []string{"goroutine ", "panic:", ".go:", "runtime."} {
		if strings.Contains(stderr, s) {
			t.Fatalf("stderr shows Go internals (%q):\n%s", s, stderr)
		}
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func withDatabase(t *testing.T, name string) string {
	t.Helper()
	u := testutil.ParseURL(t, testutil.ServerURL())
	u.Path = "/" + name
	return u.String()
}

func serverConn(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), testutil.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func TestMigrateWithUnreachableDatabase(t *testing.T) {
	dbURL := fmt.Sprintf("postgres://atiende:s3cr3t-pw@127.0.0.1:%d/atiende?sslmode=disable", closedPort(t))
	start := time.Now()
	code, out, stderr := atiende(t, map[string]string{"DATABASE_URL": dbURL}, "migrate")
	if code == 0 {
		t.Fatalf("exit 0 with PostgreSQL unreachable; stdout %q", out)
	}
	for _, want := range []string{"PostgreSQL", "DATABASE_URL", "127.0.0.1"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "s3cr3t-pw") {
		t.Errorf("stderr prints the database password:\n%s", stderr)
	}
	assertNoStackTrace(t, stderr)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v to give up", d)
	}
}

func TestInvalidConfigurationStopsEveryCommand(t *testing.T) {
	cases := []struct {
		name, key, value string
	}{
		{"port", "PORT", "ochenta"},
		{"log level", "LOG_LEVEL", "chatty"},
		{"environment", "ATIENDE_ENV", "staging"},
		{"database url", "DATABASE_URL", "mysql://localhost/atiende"},
	}
	for _, tc := range cases {
		cmds := [][]string{{"migrate"}, {"user", "add", "--email", "a@b.pe"}}
		if tc.key == "PORT" {
			cmds = append(cmds, []string{"serve"}) // one is enough: every command loads the same config
		}
		for _, cmd := range cmds {
			t.Run(tc.name+"/"+cmd[0], func(t *testing.T) {
				var code int
				var stderr string
				if cmd[0] == "serve" {
					code, stderr = atiendeProcess(t, map[string]string{tc.key: tc.value}, cmd...)
				} else {
					code, _, stderr = atiende(t, map[string]string{tc.key: tc.value}, cmd...)
				}
				if code == 0 {
					t.Fatalf("%s=%s accepted", tc.key, tc.value)
				}
				// The variable is named; its value too, except a URL that may hold a password.
				if !strings.Contains(stderr, tc.key) || (tc.key != "DATABASE_URL" && !strings.Contains(stderr, tc.value)) {
					t.Fatalf("stderr does not name %s=%s:\n%s", tc.key, tc.value, stderr)
				}
				if lines := strings.Count(strings.TrimSpace(stderr), "\n"); lines != 0 {
					t.Fatalf("not one paragraph (%d line breaks):\n%s", lines, stderr)
				}
				assertNoStackTrace(t, stderr)
			})
		}
	}
}

func TestUnknownCommandShowsUsage(t *testing.T) {
	code, _, stderr := atiende(t, nil, "migrar")
	if code == 0 || !strings.Contains(stderr, `unknown command "migrar"`) || !strings.Contains(stderr, "Commands:") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	code, out, _ := atiende(t, nil, "help")
	if code != 0 || !strings.Contains(out, "user add") {
		t.Fatalf("help: exit %d:\n%s", code, out)
	}
}

func TestMigrateCreatesTheDatabase(t *testing.T) {
	name := fmt.Sprintf("atiende_test_missing_%d", time.Now().UnixNano())
	conn := serverConn(t)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	env := map[string]string{"DATABASE_URL": withDatabase(t, name)}

	// Before migrate, commands say what to do.
	if code, _, stderr := atiende(t, env, "user", "add", "--email", "a@b.pe", "--name", "A", "--password", "secreta-123"); code == 0 {
		t.Fatal("user add worked on a database that does not exist")
	} else {
		assertNoStackTrace(t, stderr)
	}

	out := mustRun(t, env, "migrate")
	if !strings.Contains(out, "up to date") {
		t.Errorf("migrate says %q", out)
	}
	var exists bool
	testutil.Must(t, conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists))
	if !exists {
		t.Fatal("database not created")
	}
	db, err := pgx.Connect(context.Background(), env["DATABASE_URL"])
	testutil.Must(t, err)
	defer db.Close(context.Background())
	var tables, workspaces int
	testutil.Must(t, db.QueryRow(context.Background(), `SELECT count(*) FROM information_schema.tables WHERE table_name IN ('workspaces','users','sessions','job_runs')`).Scan(&tables))
	testutil.Must(t, db.QueryRow(context.Background(), `SELECT count(*) FROM workspaces`).Scan(&workspaces))
	if tables != 4 || workspaces != 0 {
		t.Fatalf("after migrate: %d of 4 tables, %d workspaces (migrate creates none)", tables, workspaces)
	}
	// Idempotent: a second run (every deploy's release step) changes nothing.
	mustRun(t, env, "migrate")
}

func TestCommandsRefuseAnUnmigratedDatabase(t *testing.T) {
	name := fmt.Sprintf("atiende_test_empty_%d", time.Now().UnixNano())
	conn := serverConn(t)
	_, err := conn.Exec(context.Background(), "CREATE DATABASE "+name)
	testutil.Must(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	env := map[string]string{"DATABASE_URL": withDatabase(t, name), "PORT": strconv.Itoa(closedPort(t))}
	code, _, stderr := atiende(t, env, "user", "add", "--email", "a@b.pe", "--name", "A", "--password", "secreta-123")
	if code == 0 || !strings.Contains(stderr, "atiende migrate") {
		t.Fatalf("user add on an unmigrated database: exit %d\n%s", code, stderr)
	}
	code, output := atiendeProcess(t, env, "serve")
	if code == 0 || !strings.Contains(output, "atiende migrate") {
		t.Fatalf("serve on an unmigrated database: exit %d\n%s", code, output)
	}
}

func TestFirstUserAddCreatesWorkspaceAndTeams(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testutil.NewDatabaseURL(t)}
	out := mustRun(t, env, "user", "add", "--email", "Ana@Acme.pe", "--name", "Ana Pérez", "--role", "admin", "--password", "secreta-123", "--teams", "Ventas, Soporte,")
	if !strings.Contains(out, "ana@acme.pe") {
		t.Errorf("stdout: %q", out)
	}
	db, err := pgx.Connect(context.Background(), env["DATABASE_URL"])
	testutil.Must(t, err)
	defer db.Close(context.Background())
	var ws, role, teams string
	testutil.Must(t, db.QueryRow(context.Background(), `
		SELECT w.name, u.role, (SELECT string_agg(t.name, ',' ORDER BY t.name) FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = u.id)
		FROM users u JOIN workspaces w ON w.id = u.workspace_id WHERE u.email = 'ana@acme.pe'`).Scan(&ws, &role, &teams))
	if ws == "" || role != "admin" || teams != "Soporte,Ventas" {
		t.Fatalf("workspace %q role %q teams %q", ws, role, teams)
	}

	// A second user joins the same workspace and reuses the existing team.
	mustRun(t, env, "user", "add", "--email", "beto@acme.pe", "--name", "Beto", "--password", "secreta-123", "--teams", "ventas")
	var nws, nteams, role2 int
	testutil.Must(t, db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM workspaces), (SELECT count(*) FROM teams), (SELECT count(*) FROM users WHERE email='beto@acme.pe' AND role='agent')`).Scan(&nws, &nteams, &role2))
	if nws != 1 || nteams != 2 || role2 != 1 {
		t.Fatalf("after the second user add: %d workspaces, %d teams, agent beto %d", nws, nteams, role2)
	}

	t.Run("invalid input is refused with the reason", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--email", "carla@acme.pe", "--name", "Carla", "--password", "corta"}, "contraseña"},
			{[]string{"--email", "carla@acme.pe", "--name", "Carla", "--password", "secreta-123", "--role", "jefa"}, "rol"},
			{[]string{"--email", "ANA@acme.pe", "--name", "Otra", "--password", "secreta-123"}, "Ya existe"},
		} {
			code, _, stderr := atiende(t, env, append([]string{"user", "add"}, tc.args...)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("user add %v: exit %d, stderr:\n%s", tc.args, code, stderr)
			}
			assertNoStackTrace(t, stderr)
		}
		var n int
		testutil.Must(t, db.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n))
		if n != 2 {
			t.Fatalf("%d users after refused commands, want 2", n)
		}
	})
}

func TestCommandsWithSeveralWorkspacesNeedWorkspaceFlag(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testutil.NewDatabaseURL(t)}
	mustRun(t, env, "user", "add", "--workspace", "Acme", "--email", "ana@acme.pe", "--name", "Ana", "--role", "admin", "--password", "secreta-123")
	mustRun(t, env, "user", "add", "--workspace", "Beta", "--email", "bruno@beta.pe", "--name", "Bruno", "--role", "admin", "--password", "secreta-123")

	for _, args := range [][]string{
		{"token", "create", "--email", "ana@acme.pe"},
		{"user", "add", "--email", "carla@acme.pe", "--name", "Carla", "--password", "secreta-123"},
	} {
		code, _, stderr := atiende(t, env, args...)
		if code == 0 {
			t.Fatalf("%s without --workspace worked with two workspaces", strings.Join(args[:2], " "))
		}
		if !strings.Contains(stderr, "Acme") || !strings.Contains(stderr, "Beta") || !strings.Contains(stderr, "--workspace") {
			t.Fatalf("%s: the error should list the workspaces and the flag:\n%s", strings.Join(args[:2], " "), stderr)
		}
	}
	if tok := strings.TrimSpace(mustRun(t, env, "token", "create", "--workspace", "beta", "--email", "bruno@beta.pe")); tok == "" {
		t.Fatal("token create --workspace printed nothing")
	}
	code, _, stderr := atiende(t, env, "token", "create", "--workspace", "Acme", "--email", "bruno@beta.pe")
	if code == 0 || !strings.Contains(stderr, "bruno@beta.pe") {
		t.Fatalf("token for a user of another workspace: exit %d\n%s", code, stderr)
	}
}

// serveProc is a real `atiende serve` process (this test binary re-executed).
type serveProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe starts `atiende serve` on a free port and waits until it answers. The
// port is free when chosen, but another process on the machine (other test packages
// run alongside) may take it before serve binds it: then serve exits at once saying
// so, and it is started again on another port.
func startServe(t *testing.T, dbURL string) *serveProc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p, portTaken := tryServe(t, dbURL)
		if !portTaken {
			return p
		}
		if attempt == 5 {
			t.Fatalf("serve could not bind a free port 5 times:\n%s", p.logs.String())
		}
		t.Logf("port of %s taken meanwhile; trying another", p.url)
	}
}

func tryServe(t *testing.T, dbURL string) (p *serveProc, portTaken bool) {
	t.Helper()
	port := closedPort(t)
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), subprocessEnv+"=1", "DATABASE_URL="+dbURL, fmt.Sprintf("PORT=%d", port),
		"ATIENDE_ENV=development", "LOG_LEVEL=info", "ATIENDE_SECRET_KEY=", "WHATSAPP_GRAPH_URL=")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p = &serveProc{t: t, cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: logs, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("serve on %s logged:\n%s", p.url, logs.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(p.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, false
			}
		}
		select {
		case err := <-p.done:
			p.done <- err // for the cleanup, which waits for the process
			if strings.Contains(logs.String(), "address already in use") {
				return p, true
			}
			t.Fatalf("serve exited early (%v):\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer /healthz:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *serveProc) leads() bool {
	return strings.Contains(p.logs.String(), "this process now runs the jobs")
}

// stop sends sig and returns the exit error (nil for exit 0). For SIGTERM give it
// more than serve's own 30 s drain: a slow stop on a loaded machine is no failure.
func (p *serveProc) stop(sig os.Signal, within time.Duration) error {
	p.t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err
	case <-time.After(within):
		p.t.Fatalf("serve did not stop within %v after %v:\n%s", within, sig, p.logs.String())
		return nil
	}
}

func TestServeWithTokenAndGracefulStop(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testutil.NewDatabaseURL(t)}
	mustRun(t, env, "user", "add", "--email", "ana@acme.pe", "--name", "Ana", "--role", "supervisor", "--password", "secreta-123")
	token := strings.TrimSpace(mustRun(t, env, "token", "create", "--email", "ana@acme.pe"))
	if strings.ContainsAny(token, " \n") || len(token) < 20 {
		t.Fatalf("token create printed %q", token)
	}
	p := startServe(t, env["DATABASE_URL"])

	req, _ := http.NewRequest(http.MethodGet, p.url+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	testutil.Must(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var me struct{ Email, Role string }
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &me) != nil || me.Email != "ana@acme.pe" || me.Role != "supervisor" {
		t.Fatalf("/api/v1/me with the printed token: %d %s", res.StatusCode, body)
	}

	jar, _ := cookiejar.New(nil)
	c := &testutil.Client{T: t, Base: p.url, HTTP: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	c.Login("ana@acme.pe", "secreta-123")
	if res := c.Get("/board"); res.StatusCode != http.StatusOK {
		t.Fatalf("board after sign-in on the real server: %d", res.StatusCode)
	}
	if res := c.PostForm("/logout", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}

	if err := p.stop(syscall.SIGTERM, 45*time.Second); err != nil {
		t.Fatalf("SIGTERM: exit %v, want a clean exit 0\n%s", err, p.logs.String())
	}
	logs := p.logs.String()
	if !strings.Contains(logs, "shutting down") || !strings.Contains(logs, "stopped") {
		t.Fatalf("no drain in the logs:\n%s", logs)
	}
	if _, err := http.Get(p.url + "/healthz"); err == nil {
		t.Fatal("still answering after SIGTERM")
	}
}

// Two serve processes on one database: exactly one runs the jobs; when it dies
// (SIGKILL: no cleanup at all), the other takes over within a minute.
func TestTwoServeProcessesElectOneJobLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a leader takeover (about 10 s)")
	}
	dbURL := testutil.NewDatabaseURL(t)
	conn, err := pgx.Connect(context.Background(), dbURL)
	testutil.Must(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	holders := func() int {
		var n int
		testutil.Must(t, conn.QueryRow(context.Background(), `
			SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1
			  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, uint32(jobs.LeaderLockKey)).Scan(&n))
		return n
	}

	a, b := startServe(t, dbURL), startServe(t, dbURL)
	deadline := time.Now().Add(60 * time.Second)
	for !(a.leads() || b.leads()) {
		if time.Now().After(deadline) {
			t.Fatal("no serve process took the job leadership")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if a.leads() && b.leads() {
		t.Fatal("both processes say they run the jobs")
	}
	if n := holders(); n != 1 {
		t.Fatalf("%d holders of the job leader lock, want 1", n)
	}
	leader, follower := a, b
	if b.leads() {
		leader, follower = b, a
	}

	killedAt := time.Now()
	_ = leader.stop(syscall.SIGKILL, 10*time.Second)
	deadline = killedAt.Add(time.Minute)
	for !follower.leads() {
		if time.Now().After(deadline) {
			t.Fatalf("no takeover within a minute of the leader's death:\n%s", follower.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("takeover %v after SIGKILL", time.Since(killedAt).Round(100*time.Millisecond))
	if n := holders(); n != 1 {
		t.Fatalf("%d lock holders after the takeover", n)
	}
	if err := follower.stop(syscall.SIGTERM, 45*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
}

func TestImportCommand(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testutil.NewDatabaseURL(t)}
	file := filepath.Join(t.TempDir(), "historia.jsonl")
	lines := []string{
		`{"type":"workspace","name":"Demo","timezone":"America/Lima"}`,
		`{"type":"team","name":"Ventas"}`,
		`{"type":"agent","email":"ana@example.com","name":"Ana","teams":["Ventas"]}`,
		`{"type":"channel","name":"Principal","phone_number_id":"106540352242922"}`,
		`{"type":"inbound","at":"2026-10-01T14:03:00Z","from":"51987654321","name":"Pedro","text":"Hola","id":"wamid.A1","team":"Ventas"}`,
		`{"type":"reply","at":"2026-10-01T14:20:00Z","contact":"51987654321","agent":"luis@example.com","text":"¡Hola Pedro!"}`,
		`{"type":"status","at":"2026-10-01T15:00:00Z","contact":"51987654321","status":"closed","reason":"Resuelto"}`,
	}
	testutil.Must(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	code, _, stderr := atiende(t, env, "import", file)
	if code == 0 || !strings.Contains(stderr, `line 6: unknown agent "luis@example.com"`) || !strings.Contains(stderr, "the 5 lines before it are applied") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	assertNoStackTrace(t, stderr)

	lines[5] = strings.Replace(lines[5], "luis@", "ana@", 1)
	testutil.Must(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	out := mustRun(t, env, "import", file)
	if !strings.Contains(out, "7 lines: 4 setup, 2 events applied, 1 already imported") {
		t.Fatalf("second run: %q", out)
	}
	out = mustRun(t, env, "import", "--workspace", "Demo", file)
	if !strings.Contains(out, "0 events applied, 3 already imported") {
		t.Fatalf("third run: %q", out)
	}
	if code, _, stderr := atiende(t, env, "import", filepath.Join(t.TempDir(), "no-existe.jsonl")); code == 0 || !strings.Contains(stderr, "cannot read the file") {
		t.Fatalf("missing file: exit %d, %s", code, stderr)
	}
}
