import { listen } from "../../mod.ts";
import { serveHttp } from "../../http/mod.ts";
import { encoder, type TourPart } from "./_part.ts";

export const http: TourPart = {
  title: "an HTTP fixture: a Deno.serve-style handler on a memory listener, no port opened",
  expect: [
    /GET \/todos → 200 \[\{"id":1,"title":"write the tour"\}\]/,
    /POST \/todos → 201, Location \/todos\/2/,
    /garbage on a raw conn → HTTP\/1\.1 400 Bad Request; the next fetch still gets 200/,
    /shut down gracefully/,
  ],
  async run(say) {
    const todos = [{ id: 1, title: "write the tour" }];
    const listener = listen({ transport: "memory" });
    await using fixture = serveHttp(listener, async (req) => {
      const { pathname } = new URL(req.url);
      if (req.method === "GET" && pathname === "/todos") return Response.json(todos);
      if (req.method === "POST" && pathname === "/todos") {
        const todo = { id: todos.length + 1, title: (await req.json()).title };
        todos.push(todo);
        return Response.json(todo, { status: 201, headers: { location: `/todos/${todo.id}` } });
      }
      return new Response("not found", { status: 404 });
    });
    const list = await fixture.fetch("http://todo.test/todos");
    say(`GET /todos → ${list.status} ${JSON.stringify(await list.json())}`);
    const created = await fixture.fetch("http://todo.test/todos", {
      method: "POST",
      body: JSON.stringify({ title: "test it" }),
    });
    await created.body?.cancel();
    say(`POST /todos → ${created.status}, Location ${created.headers.get("location")}`);
    {
      await using rude = await listener.dialer().dial();
      await rude.write(encoder.encode("THIS IS NOT HTTP\r\n\r\n"));
      const answer = new TextDecoder().decode(await new Response(rude.readable).bytes());
      const again = await fixture.fetch("http://todo.test/todos");
      await again.body?.cancel();
      say(`garbage on a raw conn → ${answer.split("\r\n")[0]}; the next fetch still gets ${again.status}`);
    }
    await fixture.shutdown();
    say("shut down gracefully: listener closed, conns closed");
  },
};
