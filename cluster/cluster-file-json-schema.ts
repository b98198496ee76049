// The cluster file (cluster/cluster-file-schema.ts), as every process checks it without zod.
// Generated from the zod schemas by test/json-schemas.test.ts (OCCDB_WRITE_GENERATED=1): do not edit.
import type { JsonSchema } from '../protocol/json-schema.js';

export const CLUSTER_FILE_JSON_SCHEMA: JsonSchema = {
  "type": "object",
  "properties": {
    "version": {
      "type": "number",
      "const": 1
    },
    "strategy": {
      "default": "occ",
      "type": "string",
      "enum": [
        "occ",
        "2pl",
        "2pl-nowait"
      ]
    },
    "scheduling": {
      "default": "batch",
      "type": "string",
      "enum": [
        "batch",
        "normal"
      ]
    },
    "logFormat": {
      "type": "string",
      "enum": [
        "text",
        "json"
      ]
    },
    "createdAt": {
      "type": "string"
    },
    "middlewares": {
      "minItems": 1,
      "maxItems": 1000,
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "id": {
            "type": "integer",
            "exclusiveMinimum": 0,
            "maximum": 1000000
          },
          "host": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255
          },
          "clientPort": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535
          },
          "peerPort": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535
          },
          "dir": {
            "type": "string",
            "minLength": 1
          },
          "clientSocket": {
            "type": "string",
            "minLength": 1
          },
          "peerSocket": {
            "type": "string",
            "minLength": 1
          },
          "metricsPort": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535
          },
          "pid": {
            "type": "integer",
            "exclusiveMinimum": 0,
            "maximum": 9007199254740991
          },
          "clusterFile": {
            "type": "string",
            "minLength": 1
          }
        },
        "required": [
          "id",
          "host",
          "clientPort",
          "peerPort",
          "dir"
        ]
      }
    },
    "databases": {
      "minItems": 1,
      "maxItems": 1000,
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "id": {
            "type": "integer",
            "exclusiveMinimum": 0,
            "maximum": 1000000
          },
          "host": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255
          },
          "port": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535
          },
          "dir": {
            "type": "string",
            "minLength": 1
          },
          "socket": {
            "type": "string",
            "minLength": 1
          },
          "metricsPort": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535
          },
          "pid": {
            "type": "integer",
            "exclusiveMinimum": 0,
            "maximum": 9007199254740991
          },
          "clusterFile": {
            "type": "string",
            "minLength": 1
          }
        },
        "required": [
          "id",
          "host",
          "port",
          "dir"
        ]
      }
    },
    "ssh": {
      "type": "object",
      "properties": {
        "remoteOccdb": {
          "type": "string",
          "minLength": 1
        },
        "identityFile": {
          "type": "string",
          "minLength": 1
        },
        "knownHostsFile": {
          "type": "string",
          "minLength": 1
        }
      },
      "required": [
        "remoteOccdb"
      ]
    },
    "tls": {
      "type": "object",
      "properties": {
        "fingerprint": {
          "type": "string",
          "pattern": "^([0-9A-F]{2}:){31}[0-9A-F]{2}$"
        }
      },
      "required": [
        "fingerprint"
      ]
    }
  },
  "required": [
    "version",
    "createdAt",
    "middlewares",
    "databases"
  ]
};
