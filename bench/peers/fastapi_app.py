"""
The benchmark's FastAPI + httpx peer: the example service h2api rebuilds, in its own design.

One httpx.AsyncClient for the whole process, created in the lifespan and closed at shutdown;
the aggregate fans out with asyncio.gather(return_exceptions=True); /proxy streams the upstream
answer through. Routes and answers match h2api's for the benchmarked workloads:

    GET /                            welcome document
    GET /v1/posts/{post_id}          upstream /posts/{id}; 404 -> {"detail": "Post not found"}
    GET /v1/users/{user_id}/posts    upstream /posts?userId={id}; [] -> 404
    GET /v1/users/{user_id}/overview user (required) + posts, todos, albums (optional)
    ANY /proxy/{path:path}           streaming pass-through to the upstream's /{path}?{query}

Run by bench/run with Debian's packages (FastAPI 0.92, uvicorn 0.17, httpx 0.23):
    BENCH_UPSTREAM=http://127.0.0.1:PORT /usr/bin/python3 -m uvicorn fastapi_app:app \
        --app-dir bench/peers --port N --no-access-log
"""

import asyncio
import os
from contextlib import asynccontextmanager

import anyio
import httpx
from fastapi import FastAPI, HTTPException, Request
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

UPSTREAM = os.environ["BENCH_UPSTREAM"]

# RFC 9110 section 7.6.1, plus the framing headers the server sets itself
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}


@asynccontextmanager
async def lifespan(app):
    # httpx's defaults, as the example service has them: 100 connections, 20 kept alive
    app.state.client = httpx.AsyncClient(base_url=UPSTREAM, timeout=10.0)
    yield
    await app.state.client.aclose()


app = FastAPI()
# FastAPI 0.92 ignores FastAPI(lifespan=...): hand the context to the router itself
app.router.lifespan_context = lifespan


@app.get("/")
async def root():
    return {"message": "Welcome to the API Wrapper Example", "versions": {"v1": "/v1"}}


@app.get("/v1/posts/{post_id}")
async def get_post(post_id: int, request: Request):
    r = await request.app.state.client.get(f"/posts/{post_id}")
    if r.status_code == 404:
        raise HTTPException(status_code=404, detail="Post not found")
    if r.status_code != 200:
        raise HTTPException(status_code=502, detail=f"Upstream answered {r.status_code}")
    return r.json()


@app.get("/v1/users/{user_id}/posts")
async def get_user_posts(user_id: int, request: Request):
    r = await request.app.state.client.get("/posts", params={"userId": user_id})
    if r.status_code != 200:
        raise HTTPException(status_code=502, detail=f"Upstream answered {r.status_code}")
    posts = r.json()
    if not posts:
        raise HTTPException(status_code=404, detail="No posts found for this user")
    return posts


@app.get("/v1/users/{user_id}/overview")
async def get_user_overview(user_id: int, request: Request):
    client = request.app.state.client
    names = ("user", "posts", "todos", "albums")
    results = await asyncio.gather(
        client.get(f"/users/{user_id}"),
        client.get("/posts", params={"userId": user_id}),
        client.get("/todos", params={"userId": user_id}),
        client.get("/albums", params={"userId": user_id}),
        return_exceptions=True,
    )
    user = results[0]
    if isinstance(user, Exception):
        raise HTTPException(status_code=502, detail=str(user))
    if user.status_code == 404:
        raise HTTPException(status_code=404, detail="User not found")
    if user.status_code != 200:
        raise HTTPException(status_code=502, detail=f"Upstream answered {user.status_code}")
    out, errors = {"user": user.json()}, {}
    for name, res in zip(names[1:], results[1:]):
        if isinstance(res, Exception) or res.status_code != 200:
            out[name] = None
            errors[name] = {"detail": str(res) if isinstance(res, Exception) else f"Upstream answered {res.status_code}"}
        else:
            out[name] = res.json()
    if errors:
        out["errors"] = errors
    return out


@app.api_route("/proxy/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def proxy(path: str, request: Request):
    client = request.app.state.client
    headers = [(k, v) for k, v in request.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP]
    url = httpx.URL(path="/" + path, query=request.url.query.encode("ascii"))
    upstream_req = client.build_request(request.method, url, headers=headers, content=await request.body())
    r = await client.send(upstream_req, stream=True)
    out_headers = {k: v for k, v in r.headers.items() if k.lower() not in HOP_BY_HOP}

    async def body():
        # A client that goes away makes Starlette cancel this stream. A cancel that lands inside
        # an upstream read leaves httpcore 0.16 holding the connection for good (measured: the
        # pool of 100 ran dry after three wrk runs and every later request got PoolTimeout), so
        # each read is shielded (the client's read timeout still bounds it) and the response is
        # closed in any case.
        chunks = r.aiter_raw()
        try:
            while True:
                with anyio.CancelScope(shield=True):
                    try:
                        chunk = await chunks.__anext__()
                    except StopAsyncIteration:
                        break
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await r.aclose()

    return StreamingResponse(body(), status_code=r.status_code, headers=out_headers, background=BackgroundTask(r.aclose))
