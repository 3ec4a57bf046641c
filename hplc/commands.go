package hplc

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// exchange sends one frame and waits for its reply, with timeout.
func (m *Module) exchange(ctx context.Context, f Frame, timeout time.Duration) (Frame, Payload, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := &call{ctx: ctx, frame: f, reply: make(chan result, 1)}
	select {
	case m.calls <- c:
	case <-ctx.Done():
		return Frame{}, nil, m.ctxErr(ctx)
	case <-m.stopped:
		return Frame{}, nil, ErrClosed
	}
	r := <-c.reply
	if errors.Is(r.err, context.DeadlineExceeded) && ctx.Err() != nil {
		r.err = m.ctxErr(ctx)
	}
	return r.frame, r.payload, r.err
}

func (m *Module) ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	return ctx.Err()
}

// Do sends p to the module (no address field) and returns the reply's
// payload, resending up to Config.Retries times when no answer comes. A deny
// is a *DenyError.
func (m *Module) Do(ctx context.Context, p Payload) (Payload, error) {
	return m.do(ctx, p, m.cfg.ReplyTimeout, m.cfg.Retries)
}

func (m *Module) do(ctx context.Context, p Payload, timeout time.Duration, retries int) (Payload, error) {
	f, err := NewFrame(Control{Primary: true, Mode: m.cfg.Mode}, Info{}, p)
	if err != nil {
		return nil, err
	}
	afn, fn := p.AFNFn()
	for attempt := 0; ; attempt++ {
		_, rp, err := m.exchange(ctx, f, timeout)
		if err == nil {
			return rp, nil
		}
		if !errors.Is(err, ErrTimeout) || attempt >= retries || ctx.Err() != nil {
			return nil, fmt.Errorf("hplc: AFN %02X F%d: %w", afn, fn, err)
		}
		m.log.Debug("no answer, resending", "afn", afn, "fn", fn, "attempt", attempt+1)
	}
}

// Confirmed sends p and requires an AFN 00 F1 confirm.
func (m *Module) Confirmed(ctx context.Context, p Payload) (Confirm, error) {
	rp, err := m.Do(ctx, p)
	if err != nil {
		return Confirm{}, err
	}
	c, ok := rp.(Confirm)
	if !ok {
		afn, fn := p.AFNFn()
		return Confirm{}, fmt.Errorf("hplc: AFN %02X F%d: answered with %T: %w", afn, fn, rp, ErrUnexpected)
	}
	return c, nil
}

func query[T Payload](ctx context.Context, m *Module, p Payload) (T, error) {
	var zero T
	rp, err := m.Do(ctx, p)
	if err != nil {
		return zero, err
	}
	v, ok := rp.(T)
	if !ok {
		afn, fn := p.AFNFn()
		return zero, fmt.Errorf("hplc: AFN %02X F%d: answered with %T, want %T: %w", afn, fn, rp, zero, ErrUnexpected)
	}
	return v, nil
}

// Vendor queries AFN 03 F1.
func (m *Module) Vendor(ctx context.Context) (VendorInfo, error) {
	return query[VendorInfo](ctx, m, QueryVendor)
}

// RunMode queries AFN 03 F10.
func (m *Module) RunMode(ctx context.Context) (RunMode, error) {
	return query[RunMode](ctx, m, QueryRunMode)
}

// MasterAddr queries AFN 03 F4.
func (m *Module) MasterAddr(ctx context.Context) (Addr, error) {
	v, err := query[MasterAddr](ctx, m, QueryMaster)
	return v.Addr, err
}

// RouteStatus queries AFN 10 F4.
func (m *Module) RouteStatus(ctx context.Context) (RouteStatus, error) {
	return query[RouteStatus](ctx, m, QueryRouteStat)
}

// NodeCount queries AFN 10 F1.
func (m *Module) NodeCount(ctx context.Context) (NodeCount, error) {
	return query[NodeCount](ctx, m, QueryNodeCount)
}

// Nodes reads the module's whole node table with AFN 10 F1 and 10 F2 pages.
func (m *Module) Nodes(ctx context.Context) ([]NodeInfo, error) {
	nc, err := m.NodeCount(ctx)
	if err != nil {
		return nil, err
	}
	var out []NodeInfo
	for start := 1; len(out) < int(nc.Count); {
		page, err := query[NodeInfoList](ctx, m, NodeInfoQuery{Start: uint16(start), Count: m.cfg.NodePage})
		if err != nil {
			return nil, err
		}
		if len(page.Nodes) == 0 {
			return nil, fmt.Errorf("hplc: node table: module counts %d nodes but returned none from index %d: %w", nc.Count, start, ErrUnexpected)
		}
		out = append(out, page.Nodes...)
		start += len(page.Nodes)
	}
	return out, nil
}

// Monitor forwards frame (protocol proto) to the node at addr with AFN 13 F1
// and returns the node's answer frame.
func (m *Module) Monitor(ctx context.Context, addr Addr, proto uint8, frame []byte) ([]byte, error) {
	ans, err := m.relay(ctx, addr, proto, frame)
	if err != nil {
		return nil, fmt.Errorf("hplc: monitor node %s: %w", addr, err)
	}
	return ans, nil
}

// relay is Monitor without the error prefix, for callers that name the
// node themselves.
func (m *Module) relay(ctx context.Context, addr Addr, proto uint8, frame []byte) ([]byte, error) {
	f, err := NewFrame(Control{Primary: true, Mode: m.cfg.Mode}, Info{ModuleID: true},
		MonitorRequest{Protocol: proto, Frame: frame})
	if err != nil {
		return nil, err
	}
	f.Src, f.Dst = m.cfg.Master, addr
	_, rp, err := m.exchange(ctx, f, m.cfg.MonitorTimeout)
	if err != nil {
		return nil, err
	}
	r, ok := rp.(MonitorReply)
	if !ok {
		return nil, fmt.Errorf("answered with %T: %w", rp, ErrUnexpected)
	}
	return r.Frame, nil
}

// MonitorNode sends a DL/T 645-2007 frame to the meter at addr through
// AFN 13 F1 and returns the meter's answer frame.
func (m *Module) MonitorNode(ctx context.Context, addr Addr, frame645 []byte) ([]byte, error) {
	return m.Monitor(ctx, addr, ProtoDLT645_2007, frame645)
}
