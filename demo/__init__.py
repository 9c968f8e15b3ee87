"""The demo estate: a simulated two-data-centre estate of SNMP devices (snmpsim on loopback).

`demo.estate` builds the estate, `demo.snmprec` the devices' `.snmprec` data from it and
`demo.config` the matching config (`config/demo.yaml`); `demo.agents` runs the simulated agents and
`demo.console` the `python run_console.py demo` command, which wires them to the console.
Importing this package does nothing.
"""
