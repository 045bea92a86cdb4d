print("pararl")
