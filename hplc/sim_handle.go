package hplc

import (
	"fmt"
	"slices"
	"time"

	"holdup/hplc/dlt645"
)

func (s *Sim) send(st *simState, req Frame, p Payload, delay time.Duration) {
	f, err := NewFrame(Control{Up: true, Mode: ModeHPLC}, Info{Seq: req.R.Seq}, p)
	if err != nil {
		s.log.Error("build reply", "err", err)
		return
	}
	if _, ok := p.(MonitorReply); ok {
		f.R.ModuleID, f.R.Phase = true, 1
		f.Src, f.Dst = req.Dst, st.master
	}
	b, err := f.Encode()
	if err != nil {
		s.log.Error("encode reply", "err", err)
		return
	}
	st.out <- outItem{delay: delay, b: b, gen: s.gen.Load()}
}

func (s *Sim) confirm(st *simState, req Frame) { s.send(st, req, Confirm{Status: 1}, s.cfg.ReplyDelay) }

func (s *Sim) deny(st *simState, req Frame, r DenyReason) {
	s.send(st, req, Deny{Reason: r}, s.cfg.ReplyDelay)
}

func (s *Sim) handle(st *simState, raw []byte) {
	f, _, err := Decode(raw)
	if err != nil || f.C.Up {
		return // a module ignores its own direction and corrupt frames
	}
	if !f.C.Primary {
		// The concentrator's confirm of our report.
		if p := st.pending; p != nil && f.AFN == AFNConfirm && f.Fn == 1 && f.R.Seq == p.seq {
			p.timer.Stop()
			p.done <- nil
			st.pending = nil
		}
		return
	}
	st.commands = append(st.commands, fmt.Sprintf("AFN %02X F%d", f.AFN, f.Fn))
	p, err := f.Payload()
	if err != nil {
		s.log.Warn("bad data unit", "err", err)
		s.deny(st, f, DenyFormat)
		return
	}
	switch v := p.(type) {
	case NoData:
		s.handleNoData(st, f, v)
	case SetMasterAddr:
		st.master = v.Addr
		s.confirm(st, f)
	case NodeInfoQuery:
		start := max(int(v.Start), 1) - 1
		n := min(int(v.Count), s.cfg.PageSize)
		list := NodeInfoList{Total: uint16(len(st.nodes))}
		for i := start; i < len(st.nodes) && len(list.Nodes) < n; i++ {
			nd := st.nodes[i]
			ni := NodeInfo{Addr: nd.Addr, Protocol: nd.Protocol & 7}
			if mt, ok := st.meters[nd.Addr]; ok && !mt.Offline {
				ni.Quality, ni.Phase = 12, 1
			}
			list.Nodes = append(list.Nodes, ni)
		}
		s.send(st, f, list, s.cfg.ReplyDelay)
	case AddNodes:
		for _, n := range v.Nodes {
			if slices.ContainsFunc(st.nodes, func(x Node) bool { return x.Addr == n.Addr }) {
				s.deny(st, f, DenyDuplicateMeter)
				return
			}
		}
		if len(st.nodes)+len(v.Nodes) > int(s.cfg.MaxNodes) {
			s.deny(st, f, DenyOther)
			return
		}
		st.nodes = append(st.nodes, v.Nodes...)
		s.confirm(st, f)
	case DeleteNodes:
		for _, a := range v.Addrs {
			if !slices.ContainsFunc(st.nodes, func(x Node) bool { return x.Addr == a }) {
				s.deny(st, f, DenyNoSuchMeter)
				return
			}
		}
		st.nodes = slices.DeleteFunc(st.nodes, func(x Node) bool { return slices.Contains(v.Addrs, x.Addr) })
		s.confirm(st, f)
	case MonitorRequest:
		s.monitor(st, f, v)
	default:
		s.deny(st, f, DenyNoSuchInfo)
	}
}

func (s *Sim) handleNoData(st *simState, f Frame, v NoData) {
	switch v {
	case HardwareInit:
		st.hwInits++
		if st.lostConfirms > 0 {
			st.lostConfirms--
		} else {
			s.confirm(st, f)
		}
		s.failReport(st, fmt.Errorf("hplc sim: module rebooted before the report was confirmed: %w", ErrSimNotReady))
		// The confirm leaves the UART, then the module reboots.
		s.startBoot(st)
	case ParamInit:
		st.master, st.nodes = Addr{}, nil
		s.confirm(st, f)
	case DataInit:
		s.confirm(st, f)
	case QueryVendor:
		s.send(st, f, s.cfg.Vendor, s.cfg.ReplyDelay)
	case QueryMaster:
		s.send(st, f, MasterAddr{Addr: st.master}, s.cfg.ReplyDelay)
	case QueryRunMode:
		s.send(st, f, RunMode{CommMode: 2, RouteManaged: true, NeedsNodeList: true, ReadingMode: 3, Channels: 1,
			MonitorTimeout: uint8(min(255, s.cfg.MeterDelay/time.Second+10)), BroadcastTimeout: 120, MaxFrame: MaxFrameLen,
			MaxFilePacket: 512, UpgradeWait: 10, Master: st.master, MaxNodes: s.cfg.MaxNodes, Nodes: uint16(len(st.nodes)),
			ProtocolDate: Date{Year: 13, Month: 12, Day: 1}, RecordDate: s.cfg.Vendor.Date, Vendor: s.cfg.Vendor,
			Rates: []Rate{{Value: 100, Kbps: true}}}, s.cfg.ReplyDelay)
	case QueryNodeCount:
		s.send(st, f, NodeCount{Count: uint16(len(st.nodes)), Max: s.cfg.MaxNodes}, s.cfg.ReplyDelay)
	case QueryRouteStat:
		s.send(st, f, RouteStatus{Working: st.routing == "running", Total: uint16(len(st.nodes)), Rate: 100}, s.cfg.ReplyDelay)
	case RouteRestart, RouteResume:
		st.routing = "running"
		s.confirm(st, f)
	case RoutePause:
		st.routing = "paused"
		s.confirm(st, f)
	default:
		s.deny(st, f, DenyNoSuchInfo)
	}
}

func (s *Sim) monitor(st *simState, f Frame, v MonitorRequest) {
	if !f.R.ModuleID {
		s.deny(st, f, DenyFormat)
		return
	}
	if st.master == (Addr{}) {
		s.deny(st, f, DenyNodeNotInNet) // no master address, no network
		return
	}
	if !slices.ContainsFunc(st.nodes, func(x Node) bool { return x.Addr == f.Dst }) {
		s.deny(st, f, DenyNodeNotInNet)
		return
	}
	meter, ok := st.meters[f.Dst]
	var answer []byte
	if ok && !meter.Offline && v.Protocol == ProtoDLT645_2007 {
		answer = meter.answer(dlt645.Address(f.Dst), v.Frame)
		st.meters[f.Dst] = meter // a write changed its state
	}
	if answer == nil {
		// The carrier round trip times out before the module denies.
		s.send(st, f, Deny{Reason: DenyNodeNoAnswer}, s.cfg.ReplyDelay+s.cfg.MeterDelay)
		return
	}
	s.send(st, f, MonitorReply{Duration: 1, Protocol: v.Protocol, Frame: answer}, s.cfg.ReplyDelay+s.cfg.MeterDelay)
}
