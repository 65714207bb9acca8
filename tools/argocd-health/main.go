// argocd-health runs an Argo CD resource health script (health.lua) the way Argo CD runs one
// from argocd-cm: gopher-lua with the standard libraries skipped, then only package, base,
// table and a reduced os (time and date) opened, `obj` set to the resource, a one-second limit,
// and the returned table's status checked against Argo CD's health codes.
//
// Usage: argocd-health health.lua < objects.json
// Input: a JSON array of resources. Output: a JSON array of {"status", "message"}, one per
// resource, or {"error"} when the script fails for that resource.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
)

type result struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

var healthCodes = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true, "Healthy": true, "Degraded": true, "Missing": true,
}

// reducedOs is the os table Argo CD exposes to health scripts: time and date only (no exit,
// execute, remove, getenv...). Both come from gopher-lua's own os library.
func reducedOs(l *lua.LState) *lua.LTable {
	full := lua.NewState()
	defer full.Close()
	full.Push(full.NewFunction(lua.OpenOs))
	full.Call(0, 1)
	source := full.Get(-1).(*lua.LTable)
	table := l.NewTable()
	for _, name := range []string{"time", "date"} {
		table.RawSetString(name, l.NewFunction(source.RawGetString(name).(*lua.LFunction).GFunction))
	}
	return table
}

func toLua(l *lua.LState, value interface{}) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []interface{}:
		table := l.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(l, item))
		}
		return table
	case map[string]interface{}:
		table := l.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetH(lua.LString(key), toLua(l, item))
		}
		return table
	}
	return lua.LNil
}

func evaluate(script string, object map[string]interface{}) (res result) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return result{Error: err.Error()}
		}
	}
	l.SetGlobal(lua.OsLibName, reducedOs(l))
	// `local os = require("os")` gets the same reduced table, as in Argo CD.
	l.PreloadModule(lua.OsLibName, func(l *lua.LState) int {
		l.Push(reducedOs(l))
		return 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, object))
	if err := l.DoString(script); err != nil {
		return result{Error: err.Error()}
	}
	returned, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return result{Error: fmt.Sprintf("expect table output from Lua script, not %s", l.Get(-1).Type())}
	}
	status := lua.LVAsString(returned.RawGetString("status"))
	if !healthCodes[status] {
		return result{Status: "Unknown", Message: "Lua returned an invalid health status"}
	}
	return result{Status: status, Message: lua.LVAsString(returned.RawGetString("message"))}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: argocd-health health.lua < objects.json")
		os.Exit(2)
	}
	script, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var objects []map[string]interface{}
	if err := json.NewDecoder(os.Stdin).Decode(&objects); err != nil {
		fmt.Fprintln(os.Stderr, "stdin must be a JSON array of resources:", err)
		os.Exit(1)
	}
	results := make([]result, 0, len(objects))
	for _, object := range objects {
		results = append(results, evaluate(string(script), object))
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
