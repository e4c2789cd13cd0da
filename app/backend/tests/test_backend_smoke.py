def test_smoke(api):
    task = api.create("buy milk")
    r = api.client.get(api.tasks())
    assert r.status_code == 200 and r.json()[0]["title"] == "buy milk"
    r = api.chat("show my tasks")
    print(r.status_code, r.text)
    assert r.status_code == 200
