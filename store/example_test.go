package store_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"holdup/store"
)

// Building a critical record within the limits: names clipped to
// MaxNameLen, the essential attributes first, then the others in sorted
// order until MaxAttrs are taken.
func ExampleAddAttr() {
	extra := map[string]string{"topic": "ctl/breaker-07/switch", "qos": "1", "note": strings.Repeat("x", 300)}
	attrs := map[string]any{}
	store.AddAttr(attrs, "point", "switch")
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		store.AddAttr(attrs, k, extra[k])
	}
	rec := store.Record{
		Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Business: store.BusinessControl,
		Interface: "rs485-2", Device: store.Clip("breaker-07 in the cabinet by the north door of substation 12, feeder 3", store.MaxNameLen),
		Attrs: attrs, Value: true,
	}
	fmt.Println(rec.Validate(), len(attrs), len(attrs["note"].(string)), len(rec.Device))
	// Output: <nil> 4 256 64
}
