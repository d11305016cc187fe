/**
 * The deployment files, checked as far as this machine can (it has no Docker engine, so no
 * image is built here): the YAML parses, every command they run is a `propamm platform` command
 * line whose flags the built CLI accepts (its --help is the truth), the image's Node major is the
 * one package.json supports, and the services share one database.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "../helpers/cli.js";

const help = runCli(["platform", "--help"], { cwd: ROOT }).stdout;
const FLAGS = new Set([...help.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]));

/** Checks a full command line: node dist/cli/main.js platform [--flag value | --flag]... */
function checkCommand(argv: readonly string[]): void {
  expect(argv.slice(0, 3)).toEqual(["node", "dist/cli/main.js", "platform"]);
  for (const a of argv.slice(3)) {
    if (a.startsWith("--")) expect(FLAGS, `${a} in ${argv.join(" ")}`).toContain(a);
  }
}

describe("deployment files", () => {
  it("the Dockerfile's command is an exec-form propamm platform command on the supported Node major", () => {
    const text = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    const from = /^FROM node:(\d+)-/m.exec(text);
    const engines = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).engines.node as string;
    expect(from?.[1]).toBe(/>=(\d+)/.exec(engines)?.[1]);
    const cmd = /^CMD (\[.*\])$/m.exec(text);
    checkCommand(JSON.parse(cmd?.[1] as string) as string[]);
    expect(text).not.toMatch(/^ENTRYPOINT/m);
  });

  it("docker-compose.yml: API and workers run platform commands against the one PostgreSQL service", () => {
    const doc = load(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as {
      services: Record<
        string,
        { command?: string[]; environment?: Record<string, string>; image?: string; build?: string }
      >;
    };
    const { db, api, worker } = doc.services;
    expect(db.image).toMatch(/^postgres:/);
    for (const [s, role] of [
      [api, "api"],
      [worker, "worker"],
    ] as const) {
      expect(s.build).toBe(".");
      checkCommand(s.command as string[]);
      expect(s.command?.[s.command.indexOf("--role") + 1]).toBe(role);
      expect(s.environment?.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@db:5432\//);
    }
  });

  it("render.yaml: a web service and a worker, both given the database's connection string", () => {
    const doc = load(readFileSync(join(ROOT, "deploy/render/render.yaml"), "utf8")) as {
      databases: { name: string }[];
      services: {
        type: string;
        dockerCommand: string;
        healthCheckPath?: string;
        envVars: { key: string; fromDatabase?: { name: string } }[];
      }[];
    };
    expect(doc.services.map((s) => s.type).sort()).toEqual(["web", "worker"]);
    for (const s of doc.services) {
      checkCommand(s.dockerCommand.split(" "));
      const url = s.envVars.find((e) => e.key === "DATABASE_URL");
      expect(url?.fromDatabase?.name).toBe(doc.databases[0].name);
    }
    expect(doc.services.find((s) => s.type === "web")?.healthCheckPath).toBe("/health");
  });
});
