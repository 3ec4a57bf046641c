package main

// The import rules of the package picture (ARCHITECTURE.md), checked over
// the source files themselves: every non-test .go file of the tree is
// parsed for its imports, and each holdup import is held against the table
// in depsRule. A package without a row in the table fails too, so a new
// package gets its rule when it is added.

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	depsSim          = "daemon/sim" // the simulator: production code never imports it
	depsRootMaxLines = 800          // the root holds the command line only
)

// depsLeaves import no other holdup package.
var depsLeaves = []string{"eeprom", "store", "power", "sched", "proto698", "hplc/dlt645", "console", "sdnotify", "deploy", "ratelog", "hooks"}

// depsRule says why package pkg may not import package imp, "" when it
// may. Both are directories relative to the module root; "" is the root
// (package main).
func depsRule(pkg, imp string) string {
	if imp == depsSim && pkg != "" && pkg != depsSim {
		return "production code never imports the simulator (only daemon/sim and the root may)"
	}
	switch {
	case pkg == "":
		return ""
	case slices.Contains(depsLeaves, pkg):
		return pkg + " is a leaf: it imports no other holdup package"
	case pkg == "hplc":
		if imp == "hplc/dlt645" {
			return ""
		}
		return "hplc may import only hplc/dlt645"
	case pkg == "devices":
		if imp == "proto698" || imp == "hplc" || imp == "hplc/dlt645" {
			return ""
		}
		return "devices may import only proto698, hplc and hplc/dlt645"
	case pkg == "config":
		if imp == "devices" || imp == "eeprom" {
			return ""
		}
		return "config may import only devices and eeprom"
	case pkg == "daemon":
		if slices.Contains(depsLeaves, imp) || imp == "hplc" || imp == "devices" || imp == "config" {
			return ""
		}
		return "daemon may import only the leaves, hplc, devices and config"
	case pkg == depsSim:
		if imp == "" {
			return "daemon/sim never imports main"
		}
		return ""
	}
	return "package " + pkg + " has no row in the import-rule table (deps_test.go): give it one"
}

// depsFile is one non-test Go file: its package directory (relative to
// the module root, "" for the root) and its holdup imports.
type depsFile struct {
	name    string // slash path relative to the module root
	pkg     string
	imports []depsImport
}

type depsImport struct {
	line int
	pkg  string // relative to the module root, "" for the root
}

// depsModule reads the module path from root/go.mod.
func depsModule(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
			if p, err := strconv.Unquote(f[1]); err == nil {
				return p, nil
			}
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s: no module line", filepath.Join(root, "go.mod"))
}

// depsScan parses the imports of every non-test .go file under root,
// skipping testdata, bin, hidden and _ directories, and nested modules.
// It also counts the lines of the root package's non-test files.
func depsScan(root string) (files []depsFile, rootLines int, err error) {
	module, err := depsModule(root)
	if err != nil {
		return nil, 0, err
	}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			if name == "testdata" || name == "bin" || name == "vendor" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		pkg := path.Dir(rel)
		if pkg == "." {
			pkg = ""
			rootLines += bytes.Count(src, []byte("\n"))
			if len(src) > 0 && src[len(src)-1] != '\n' {
				rootLines++
			}
		}
		af, err := parser.ParseFile(fset, rel, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		f := depsFile{name: rel, pkg: pkg}
		for _, spec := range af.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: import %s: %v", rel, spec.Path.Value, err)
			}
			switch {
			case imp == module:
				imp = ""
			case strings.HasPrefix(imp, module+"/"):
				imp = strings.TrimPrefix(imp, module+"/")
			default:
				continue // the standard library or another module
			}
			f.imports = append(f.imports, depsImport{line: fset.Position(spec.Pos()).Line, pkg: imp})
		}
		files = append(files, f)
		return nil
	})
	return files, rootLines, err
}

// depsViolations lists every forbidden import in the tree under root, one
// "file:line: imports PATH: why" each, and the root's line count.
func depsViolations(root string) ([]string, int, error) {
	module, err := depsModule(root)
	if err != nil {
		return nil, 0, err
	}
	files, rootLines, err := depsScan(root)
	if err != nil {
		return nil, 0, err
	}
	var out []string
	for _, f := range files {
		for _, imp := range f.imports {
			if why := depsRule(f.pkg, imp.pkg); why != "" {
				full := module
				if imp.pkg != "" {
					full += "/" + imp.pkg
				}
				out = append(out, fmt.Sprintf("%s:%d: imports %s: %s", f.name, imp.line, full, why))
			}
		}
	}
	return out, rootLines, nil
}

func TestImportRules(t *testing.T) {
	bad, rootLines, err := depsViolations(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range bad {
		t.Error(msg)
	}
	if rootLines > depsRootMaxLines {
		t.Errorf("the root package holds %d lines of non-test Go, at most %d: the command line only, the rest belongs in daemon/ or a leaf", rootLines, depsRootMaxLines)
	}
}

// The table itself, on made-up pairs.
func TestImportRuleTable(t *testing.T) {
	for _, c := range []struct {
		pkg, imp string
		ok       bool
	}{
		{"eeprom", "store", false},
		{"store", "eeprom", false},
		{"power", "sched", false},
		{"sched", "power", false},
		{"proto698", "hplc", false},
		{"hplc/dlt645", "hplc", false},
		{"console", "config", false},
		{"sdnotify", "daemon", false},
		{"deploy", "config", false},
		{"hplc", "hplc/dlt645", true},
		{"hplc", "proto698", false},
		{"hplc", "devices", false},
		{"devices", "proto698", true},
		{"devices", "hplc", true},
		{"devices", "hplc/dlt645", true},
		{"devices", "sched", false},
		{"devices", "eeprom", false},
		{"devices", "config", false},
		{"config", "devices", true},
		{"config", "eeprom", true},
		{"config", "store", false},
		{"config", "daemon", false},
		{"daemon", "eeprom", true},
		{"daemon", "store", true},
		{"daemon", "sdnotify", true},
		{"daemon", "hplc", true},
		{"daemon", "hplc/dlt645", true},
		{"daemon", "devices", true},
		{"daemon", "config", true},
		{"daemon", depsSim, false},
		{"daemon", "", false},
		{"daemon", "tools", false}, // not in the table
		{depsSim, "daemon", true},
		{depsSim, "power", true},
		{depsSim, "config", true},
		{depsSim, "", false},
		{"", "daemon", true},
		{"", depsSim, true},
		{"", "eeprom", true},
		{"", "hplc/dlt645", true},
		{"eeprom", depsSim, false},
		{"devices", depsSim, false},
		{"config", depsSim, false},
		{"tools", "eeprom", false}, // a package without a row
		{"tools", depsSim, false},
	} {
		why := depsRule(c.pkg, c.imp)
		if (why == "") != c.ok {
			t.Errorf("%q imports %q: allowed %v (%q), want %v", c.pkg, c.imp, why == "", why, c.ok)
		}
	}
}

// The scan, on a made-up tree: which files count, which imports are
// holdup's, what the messages say, how the root's lines are counted.
func TestImportRulesScan(t *testing.T) {
	root := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module holdup\n\ngo 1.26.0\n")
	// 12 lines, the last without a newline
	write("main.go", "package main\n\nimport (\n\t\"fmt\"\n\n\tsim \"holdup/daemon/sim\"\n\t\"holdup/eeprom\"\n)\n\nvar _ = fmt.Sprint\nvar _ = sim.X\nvar _ = eeprom.X")
	// 3 lines
	write("cmd.go", "package main\n\nimport \"holdup/daemon\"\n")
	write("main_test.go", "package main\n\nimport \"holdup/store\"\n")
	write("eeprom/chip.go", "package eeprom\n\nimport (\n\t\"fmt\"\n\t\"holdup/store\"\n)\n")
	write("eeprom/chip_test.go", "package eeprom\n\nimport \"holdup/daemon/sim\"\n")
	// another module whose path only starts with holdup
	write("store/journal.go", "package store\n\nimport (\n\t\"fmt\"\n\t\"holdupextra/eeprom\"\n)\n")
	write("hplc/driver.go", "package hplc\n\nimport (\n\t\"holdup/hplc/dlt645\"\n\t_ \"holdup/proto698\"\n)\n")
	write("hplc/dlt645/frame.go", "package dlt645\n")
	write("config/config.go", "package config\n\nimport (\n\t\"holdup/devices\"\n\t\"holdup/eeprom\"\n)\n")
	write("daemon/daemon.go", "package daemon\n\nimport (\n\t\"holdup/config\"\n\t. \"holdup/daemon/sim\"\n)\n")
	write("daemon/sim/rig.go", "package sim\n\nimport (\n\t\"holdup\"\n\t\"holdup/daemon\"\n\t\"holdup/power\"\n)\n")
	write("testdata/gen.go", "package main\n\nimport \"holdup/daemon/sim\"\n")
	write("bin/x.go", "package x\n\nimport \"holdup/daemon/sim\"\n")
	write(".git/x.go", "package x\n\nimport \"holdup/daemon/sim\"\n")
	write("_old/x.go", "package x\n\nimport \"holdup/daemon/sim\"\n")
	write("tools/go.mod", "module holdup/tools\n")
	write("tools/x.go", "package x\n\nimport \"holdup/daemon/sim\"\n")
	write("extra/x.go", "package extra\n")
	write("extra/y.go", "package extra\n\nimport \"holdup/eeprom\"\n")

	bad, rootLines, err := depsViolations(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"daemon/daemon.go:5: imports holdup/daemon/sim: production code never imports the simulator (only daemon/sim and the root may)",
		"daemon/sim/rig.go:4: imports holdup: daemon/sim never imports main",
		"eeprom/chip.go:5: imports holdup/store: eeprom is a leaf: it imports no other holdup package",
		"extra/y.go:3: imports holdup/eeprom: package extra has no row in the import-rule table (deps_test.go): give it one",
		"hplc/driver.go:5: imports holdup/proto698: hplc may import only hplc/dlt645",
	}
	slices.Sort(bad)
	if !slices.Equal(bad, want) {
		t.Errorf("violations:\n\t%s\nwant:\n\t%s", strings.Join(bad, "\n\t"), strings.Join(want, "\n\t"))
	}
	if rootLines != 15 {
		t.Errorf("root lines %d, want 15", rootLines)
	}

	write("eeprom/broken.go", "package eeprom\n\nimport (\n")
	if _, _, err := depsViolations(root); err == nil || !strings.Contains(err.Error(), "eeprom/broken.go") {
		t.Errorf("a file that does not parse: err = %v", err)
	}
}
