package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/importer"
	"github.com/atiende/atiende/app/services"
)

func cmdImport(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	workspace := fs.String("workspace", "", "workspace the file applies to when it has no workspace line (default: the only one)")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: atiende import [--workspace NAME] FILE.jsonl")
		fs.PrintDefaults()
	}
	// Flags may come after the file too: atiende import history.jsonl --workspace Demo.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return errors.New("name exactly one file to import")
	}
	f, err := os.Open(files[0])
	if err != nil {
		return fmt.Errorf("cannot read the file: %w", err)
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	d, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	svc, err := services.New(env.Config, d, clock.Real{}, env.Logger, nil)
	if err != nil {
		return err
	}
	res, err := svc.Importer.Run(ctx, f, importer.Options{Workspace: *workspace, Size: size, Progress: env.Stderr})
	rate := 0.0
	if res.Elapsed > 0 {
		rate = float64(res.Lines) / res.Elapsed.Seconds()
	}
	summary := fmt.Sprintf("%d lines: %d setup, %d events applied, %d already imported (skipped), in %.1f s (%.0f lines/s)",
		res.Lines, res.Setup, res.Applied, res.Skipped, res.Elapsed.Seconds(), rate)
	if err != nil {
		var le *importer.LineError
		if errors.As(err, &le) {
			fmt.Fprintf(env.Stderr, "import stopped at line %d: the %d lines before it are applied (%d setup, %d events, %d already imported), nothing of it or after it.\nFix the line and run the same command again: lines already imported are skipped.\n",
				le.Line, le.Line-1, res.Setup, res.Applied, res.Skipped)
		}
		return err
	}
	fmt.Fprintln(env.Stdout, "imported "+summary)
	return nil
}
