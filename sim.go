package main

import (
	"context"
	"errors"
	"io"
)

func cmdSim(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("sim: not assembled yet")
}
