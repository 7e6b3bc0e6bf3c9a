// Command funclen reports the length of the project's hand-written
// functions (non-test Go files, blank and comment lines included, as the
// house style counts them), so "p90 ≤ 30 lines" is a measurement:
//
//	go run ./scripts/funclen            # p50, p90, p99, max and the longest
//	go run ./scripts/funclen -top 20
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type fn struct {
	name  string
	lines int
}

func main() {
	top := flag.Int("top", 10, "longest functions to list")
	flag.Parse()
	fns, err := collect(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "funclen:", err)
		os.Exit(1)
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].lines < fns[j].lines })
	q := func(p float64) int { return fns[min(int(p*float64(len(fns))), len(fns)-1)].lines }
	fmt.Printf("%d functions: p50 %d, p90 %d, p99 %d, max %d lines\n", len(fns), q(0.5), q(0.9), q(0.99), fns[len(fns)-1].lines)
	for i := len(fns) - 1; i >= 0 && i >= len(fns)-*top; i-- {
		fmt.Printf("  %4d  %s\n", fns[i].lines, fns[i].name)
	}
}

// collect parses every non-test Go file below root, skipping hidden and
// cache directories.
func collect(root string) ([]fn, error) {
	var out []fn
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body != nil {
				n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
				out = append(out, fn{path + ":" + fd.Name.Name, n})
			}
		}
		return nil
	})
	return out, err
}
