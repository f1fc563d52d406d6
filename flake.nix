{
  description = "neko-agent: AI agents that see, drive and talk to Neko (v3) rooms, built around GStreamer";

  # `nix flake lock` pins this on first use; see docs/deploy.md.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs = { self, nixpkgs }:
    let
      lib = nixpkgs.lib;
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      cargoToml = builtins.fromTOML (builtins.readFile ./Cargo.toml);
      subcommands = [ "run" "room" "watch" "manual" "yap" "capture" "dataset" ];

      # The GStreamer plugins the pipeline files use: webrtcbin and nvcodec (bad), VP8/Opus/RTP
      # (good), x264/H.264 parsing (ugly), software H.264 (libav), ICE (libnice's plugin).
      gstreamerPlugins = pkgs: with pkgs.gst_all_1; [
        gstreamer
        gst-plugins-base
        gst-plugins-good
        gst-plugins-bad
        gst-plugins-ugly
        gst-libav
        pkgs.libnice.out
      ];

      package = pkgs: pkgs.rustPlatform.buildRustPackage {
        pname = "neko-agent";
        version = cargoToml.workspace.package.version;
        src = lib.cleanSourceWith {
          src = ./.;
          filter = path: type:
            !(builtins.elem (baseNameOf path) [ "target" "out" ".ort" ".venv" "voices" "result" ]);
        };
        cargoLock.lockFile = ./Cargo.lock;
        cargoBuildFlags = [ "--workspace" ];
        nativeBuildInputs = [ pkgs.pkg-config pkgs.makeWrapper ];
        buildInputs = gstreamerPlugins pkgs ++ [ pkgs.glib ];
        # The tests need loopback WebRTC, Python tools and servers: run them in the dev shell
        # with scripts/test.sh.
        doCheck = false;
        postInstall = ''
          plugin="$(find target -path '*/release/libgstneko.so' | head -n 1)"
          install -Dm644 "$plugin" "$out/lib/gstreamer-1.0/libgstneko.so"
          # The binary looks for pipelines/ and models/ beside its folder.
          cp -r pipelines "$out/pipelines"
          mkdir -p "$out/models"
          cp -r models/showui-fixture models/f5-fixture "$out/models/"
        '';
        postFixup = ''
          wrapProgram "$out/bin/neko-agent" \
            --prefix GST_PLUGIN_SYSTEM_PATH_1_0 : "$out/lib/gstreamer-1.0:${lib.makeSearchPath "lib/gstreamer-1.0" (gstreamerPlugins pkgs)}" \
            --set-default NEKO_ORT_LIB "${pkgs.onnxruntime}/lib/libonnxruntime.so"
        '';
        meta = {
          description = cargoToml.package.description;
          license = lib.licenses.mpl20;
          mainProgram = "neko-agent";
          platforms = lib.platforms.linux;
        };
      };
    in
    {
      packages = forAllSystems (pkgs: rec {
        neko-agent = package pkgs;
        default = neko-agent;
      });

      # `nix run .#room`, `nix run .#watch -- --neko-url …`, one app per subcommand.
      apps = forAllSystems (pkgs:
        let
          neko-agent = self.packages.${pkgs.system}.neko-agent;
          app = subcommand: {
            type = "app";
            program = "${pkgs.writeShellScript "neko-agent-${subcommand}" ''
              exec ${neko-agent}/bin/neko-agent ${subcommand} "$@"
            ''}";
          };
        in
        lib.genAttrs subcommands app // { default = app "run"; });

      # Everything scripts/test.sh needs, from nixpkgs instead of apt.
      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.system}.neko-agent ];
          packages = [
            pkgs.cargo
            pkgs.rustc
            pkgs.clippy
            pkgs.rustfmt
            pkgs.onnxruntime
            pkgs.coturn
            pkgs.nginx
            pkgs.openssl
            (pkgs.python3.withPackages (ps: [ ps.zstandard ps.moto ps.flask-cors ]))
          ];
          GST_PLUGIN_SYSTEM_PATH_1_0 = lib.makeSearchPath "lib/gstreamer-1.0" (gstreamerPlugins pkgs);
          NEKO_ORT_LIB = "${pkgs.onnxruntime}/lib/libonnxruntime.so";
        };
      });
    };
}
