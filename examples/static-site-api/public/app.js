fetch('/api/hello').then((r) => r.json()).then((j) => document.body.append(JSON.stringify(j)))
