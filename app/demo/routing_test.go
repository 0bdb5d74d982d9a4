package demo_test

import (
	"context"
	"testing"

	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/demo"
	"github.com/atiende/atiende/app/testutil"
)

// The demo shows routing: a menu on its number, rules in order, a strategy per team;
// loading it twice keeps one of each.
func TestDemoHasARoutingSetup(t *testing.T) {
	d := testutil.NewDB(t)
	cfg, err := config.Load(func(string) string { return "" })
	testutil.Must(t, err)
	for i := 0; i < 2; i++ {
		_, err = demo.Load(context.Background(), d, cfg)
		testutil.Must(t, err)
	}
	var rules, menus, routed int64
	testutil.Must(t, d.Gorm.Raw(`SELECT count(*) FROM routing_rules`).Row().Scan(&rules))
	testutil.Must(t, d.Gorm.Raw(`SELECT count(*) FROM channel_menus WHERE active`).Row().Scan(&menus))
	testutil.Must(t, d.Gorm.Raw(`SELECT count(*) FROM teams WHERE routing_mode <> 'manual'`).Row().Scan(&routed))
	if rules != 5 || menus != 1 || routed != 2 {
		t.Fatalf("demo routing: %d rules, %d menus, %d teams routing automatically", rules, menus, routed)
	}
}
