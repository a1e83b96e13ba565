def policy(resource):
    if (resource.get("Tags") or {}).get("lifecycle") == "temporary":
        return True
    return resource.get("Versioning") == "Enabled"
