#!/usr/bin/python3
"""Print one JSON line per record python-evtx reads from an EVTX file:
{"offset": file offset, "id": record number, "xml": rendered XML} or
{"offset": ..., "error": ...}. Used by the field-fidelity test."""
import json
import sys

import Evtx.Evtx as evtx
import Evtx.Views as views


def main(path):
    out = sys.stdout
    with evtx.Evtx(path) as log:
        for chunk in log.chunks():
            try:
                records = list(chunk.records())
            except Exception as e:  # python-evtx stops a chunk on bad data
                out.write(json.dumps({"offset": chunk.offset(), "chunk_error": str(e)}) + "\n")
                continue
            for rec in records:
                row = {"offset": rec.offset(), "id": rec.record_num()}
                try:
                    row["xml"] = views.evtx_record_xml_view(rec)
                except Exception as e:
                    row["error"] = "%s: %s" % (type(e).__name__, e)
                out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
