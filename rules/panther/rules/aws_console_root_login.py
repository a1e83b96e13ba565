from ipaddress import ip_address, ip_network

from sample_helpers import aws_success

OFFICE = ip_network("192.168.0.0/16")


def rule(event):
    if event.get("eventName") != "ConsoleLogin" or not aws_success(event):
        return False
    if event.deep_get("userIdentity", "type") != "Root":
        return False
    if event.deep_get("responseElements", "ConsoleLogin") != "Success":
        return False
    try:
        source = ip_address(event.get("sourceIPAddress"))
    except ValueError:
        return True
    return source not in OFFICE


def title(event):
    return f"Root console sign-in from [{event.get('sourceIPAddress')}]"
