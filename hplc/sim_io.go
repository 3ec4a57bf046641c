package hplc

import (
	"slices"
	"time"
)

func (s *Sim) readLoop(in chan<- []byte, stop <-chan struct{}) error {
	buf := make([]byte, 512)
	for {
		n, err := s.rw.Read(buf)
		if n > 0 {
			select {
			case in <- slices.Clone(buf[:n]):
			case <-stop:
				return nil
			}
		}
		if err != nil {
			return err
		}
	}
}

// writeLoop sends queued frames after their delay, paced at the baud rate;
// frames queued before a reset are dropped.
func (s *Sim) writeLoop(out <-chan outItem, stop <-chan struct{}) {
	var byteTime time.Duration
	if s.cfg.Baud > 0 {
		byteTime = 11 * time.Second / time.Duration(s.cfg.Baud)
	}
	wait := func(d time.Duration) bool {
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-stop:
			return false
		}
	}
	for {
		var it outItem
		select {
		case it = <-out:
		case <-stop:
			return
		}
		if !wait(it.delay) {
			return
		}
		chunk := len(it.b)
		if byteTime > 0 {
			chunk = max(1, int(2*time.Millisecond/byteTime))
		}
		for i := 0; i < len(it.b); i += chunk {
			if s.gen.Load() != it.gen {
				break
			}
			part := it.b[i:min(i+chunk, len(it.b))]
			if _, err := s.rw.Write(part); err != nil {
				s.log.Warn("write", "err", err)
				break
			}
			if !wait(time.Duration(len(part)) * byteTime) {
				return
			}
		}
	}
}
