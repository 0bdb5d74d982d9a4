package importer_test

import (
	"testing"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

func TestImportSLAPoliciesAndTeamPolicies(t *testing.T) {
	app := testutil.NewApp(t)
	file := `{"type":"workspace","name":"Demo","timezone":"America/Lima"}
{"type":"sla_policy","name":"Ventas","first_response":"1h","next_response":"2h","resolution":"48h","business_hours":true}
{"type":"sla_policy","name":"Soporte urgente","first_response":"15m","resolution":"1d12h","warning":70}
{"type":"team","name":"Comercial","sla_policy":"ventas"}
{"type":"team","name":"Soporte técnico","sla_policy":"Soporte urgente"}
{"type":"team","name":"Cobranzas"}
`
	res, err := run(t, app, file)
	testutil.Must(t, err)
	if res.Setup != 6 {
		t.Errorf("%d setup lines, want 6", res.Setup)
	}
	policy := func(name string) models.SLAPolicy {
		t.Helper()
		var p models.SLAPolicy
		testutil.Must(t, app.DB.Gorm.Where("name = ?", name).First(&p).Error)
		return p
	}
	secs := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	v := policy("Ventas")
	if secs(v.FirstResponseSeconds) != 3600 || secs(v.NextResponseSeconds) != 7200 || secs(v.ResolutionSeconds) != 48*3600 ||
		!v.BusinessHours || v.WarningPercent != 80 {
		t.Errorf("Ventas: first %d next %d resolution %d business %v warning %d", secs(v.FirstResponseSeconds),
			secs(v.NextResponseSeconds), secs(v.ResolutionSeconds), v.BusinessHours, v.WarningPercent)
	}
	u := policy("Soporte urgente")
	if secs(u.FirstResponseSeconds) != 900 || u.NextResponseSeconds != nil || secs(u.ResolutionSeconds) != 36*3600 ||
		u.BusinessHours || u.WarningPercent != 70 {
		t.Errorf("Soporte urgente: %+v", u)
	}
	teamPolicy := func(team string) *int64 {
		t.Helper()
		var tm models.Team
		testutil.Must(t, app.DB.Gorm.Where("name = ?", team).First(&tm).Error)
		return tm.SLAPolicyID
	}
	if p := teamPolicy("Comercial"); p == nil || *p != v.ID {
		t.Errorf("Comercial's policy is %v, want Ventas (%d): names match whatever their case", p, v.ID)
	}
	if p := teamPolicy("Soporte técnico"); p == nil || *p != u.ID {
		t.Errorf("Soporte técnico's policy is %v, want %d", p, u.ID)
	}
	if p := teamPolicy("Cobranzas"); p != nil {
		t.Errorf("Cobranzas has policy %d, want none", *p)
	}

	// A second file updates by name: what it gives changes, what it leaves out stays,
	// null removes a target, and a team line without sla_policy keeps its policy.
	_, err = run(t, app, `{"type":"workspace","name":"Demo"}
{"type":"sla_policy","name":"VENTAS","first_response":"30m","next_response":null}
{"type":"team","name":"Comercial","color":"#16a34a"}
{"type":"team","name":"Soporte técnico","sla_policy":null}
`)
	testutil.Must(t, err)
	v = policy("Ventas")
	if secs(v.FirstResponseSeconds) != 1800 || v.NextResponseSeconds != nil || secs(v.ResolutionSeconds) != 48*3600 || !v.BusinessHours {
		t.Errorf("Ventas after the update: first %d next %v resolution %d business %v", secs(v.FirstResponseSeconds),
			v.NextResponseSeconds, secs(v.ResolutionSeconds), v.BusinessHours)
	}
	var n int64
	testutil.Must(t, app.DB.Gorm.Model(&models.SLAPolicy{}).Count(&n).Error)
	if n != 2 {
		t.Errorf("%d SLA policies, want 2 (updated by name, not duplicated)", n)
	}
	if p := teamPolicy("Comercial"); p == nil || *p != v.ID {
		t.Errorf("Comercial lost its policy to a line that left sla_policy out: %v", p)
	}
	if p := teamPolicy("Soporte técnico"); p != nil {
		t.Errorf("Soporte técnico still has policy %d after sla_policy null", *p)
	}
}
