#!/usr/bin/python3
"""Modbus slave for holdup's device tests (Debian python3-pymodbus 3.0).

usage: modbus_peer.py rtu /dev/pts/N     serial RTU slave, 9600 8N1
       modbus_peer.py tcp PORT           TCP slave on 127.0.0.1:PORT

Prints READY on stdout once it serves. The data is fixed so tests can
assert it: holding[i] = 1000+i, input[i] = 2000+i, coil[i] = (i%3 == 0),
discrete[i] = (i%2 == 1), 100 entries each (address 100 and up answer
exception 2, illegal data address); holding[10..11] = 123456 as u32.
zero_mode=True: wire address n is entry n.
"""
import asyncio
import sys

from pymodbus.datastore import (ModbusSequentialDataBlock,
                                ModbusServerContext, ModbusSlaveContext)
from pymodbus.server.async_io import ModbusSerialServer, ModbusTcpServer
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

N = 100


def context():
    hr = [1000 + i for i in range(N)]
    hr[10], hr[11] = 123456 >> 16, 123456 & 0xFFFF
    slave = ModbusSlaveContext(
        di=ModbusSequentialDataBlock(0, [i % 2 == 1 for i in range(N)]),
        co=ModbusSequentialDataBlock(0, [i % 3 == 0 for i in range(N)]),
        hr=ModbusSequentialDataBlock(0, hr),
        ir=ModbusSequentialDataBlock(0, [2000 + i for i in range(N)]),
        zero_mode=True,
    )
    return ModbusServerContext(slaves=slave, single=True)


async def main(mode, where):
    if mode == "rtu":
        # A pty drops the parity bit: open it 8N1 or pyserial fails silently.
        server = ModbusSerialServer(context(), ModbusRtuFramer, port=where,
                                    baudrate=9600, bytesize=8, parity="N",
                                    stopbits=1, timeout=0.05)
        await server.start()
        if server.transport is None:
            sys.exit("modbus_peer: cannot open " + where)
        print("READY", flush=True)
        await server.serve_forever()
    else:
        server = ModbusTcpServer(context(), ModbusSocketFramer,
                                 address=("127.0.0.1", int(where)),
                                 allow_reuse_address=True)
        task = asyncio.create_task(server.serve_forever())
        await server.serving
        print("READY", flush=True)
        await task


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
