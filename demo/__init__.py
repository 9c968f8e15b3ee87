"""The demo estate: a simulated two-data-centre estate of SNMP devices (snmpsim on loopback).

`demo.estate` generates the devices' `.snmprec` data and the matching config (`config/demo.yaml`);
`demo.agents` runs the simulated agents. `python run_console.py demo` wires both to the console.
Importing this package does nothing.
"""
