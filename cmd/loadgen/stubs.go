package main

import "errors"

func e2eCommand([]string) error     { return errors.New("todo") }
func socketsCommand([]string) error { return errors.New("todo") }
func sendCommand([]string) error    { return errors.New("todo") }
func reportCommand([]string) error  { return errors.New("todo") }
func runBareWS([]string) error      { return errors.New("todo") }
