"""Demo and test support: a private Orthanc on loopback (`orthanc`) and synthetic studies (`samples`).

Nothing here is imported by the gateway itself.
"""
