//! The board table: everything that differs between the machines the kernel runs on.
//!
//! A board is one entry — cargo features, QEMU machine arguments, the image format QEMU
//! loads, and its interrupt controller versions — so supporting another board means adding
//! one [`Board`] to [`BOARDS`] and nothing else in the xtask.

use crate::Error;

/// What QEMU's `-kernel` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Image {
    /// The ELF that cargo linked (QEMU `virt` loads ELF and jumps to its entry point).
    Elf,
    /// A flat binary made with `llvm-objcopy -O binary`, named as the board's firmware expects.
    Raw {
        /// File name of the image, e.g. `kernel8.img` for the Raspberry Pi firmware.
        file_name: &'static str,
    },
}

/// A board's second console, selected with `--mini-uart` (the Pi's mini UART).
#[derive(Debug)]
pub struct AltConsole {
    /// Cargo feature that moves the kernel's console to it.
    pub feature: &'static str,
    /// QEMU arguments connecting it to the terminal instead of the first serial port.
    pub qemu_args: &'static [&'static str],
}

/// How a board's bootable SD-card folder is built (`cargo xtask image`).
#[derive(Debug)]
pub struct SdCard {
    /// `cargo build` arguments of the hardware build: the board without its QEMU-only exit.
    pub cargo_args: &'static [&'static str],
}

/// One machine the kernel can be built for and run on.
#[derive(Debug)]
pub struct Board {
    /// Name used by `--board`.
    pub name: &'static str,
    /// Extra `cargo build` arguments selecting the board's features.
    pub cargo_args: &'static [&'static str],
    /// QEMU arguments selecting the machine; `{gic}` is replaced by the GIC version.
    pub machine_args: &'static [&'static str],
    /// The image format QEMU loads.
    pub image: Image,
    /// Whether QEMU's `-smp N` sets the machine's cores (`virt`); otherwise the machine has a
    /// fixed number (`raspi3b`: four) and only the kernel's cap (the semihosting command line's
    /// `smp=N`) limits how many run.
    pub smp_flag: bool,
    /// GIC versions the board can run with; `test` runs every one. Empty: the board has no GIC.
    pub gics: &'static [u8],
    /// GIC version `run` uses when `--gic` is not given.
    pub default_gic: Option<u8>,
    /// The alternative console, if the board has one.
    pub alt_console: Option<AltConsole>,
    /// The SD-card image, for boards that exist as hardware.
    pub sd_card: Option<SdCard>,
}

/// Every supported board; the first one is the default.
pub const BOARDS: &[Board] = &[
    Board {
        name: "virt",
        cargo_args: &[],
        machine_args: &[
            "-M",
            "virt,gic-version={gic}",
            "-cpu",
            "cortex-a53",
            "-m",
            "128M",
        ],
        image: Image::Elf,
        smp_flag: true,
        gics: &[2, 3],
        default_gic: Some(3),
        alt_console: None,
        sd_card: None,
    },
    Board {
        name: "rpi-zero2w",
        // `qemu-exit`: under QEMU the kernel exits through semihosting (not on hardware).
        cargo_args: &["--no-default-features", "--features", "board-rpi,qemu-exit"],
        // The Zero 2 W's RP3A0 is a BCM2837 (BCM2710A1) like QEMU's raspi3b, which fixes the
        // CPU (4 Cortex-A53) and 1 GiB of RAM. QEMU loads the raw image at 0x80000 and enters
        // it at EL2 with cores 1-3 on the spin table, as the firmware does; given the ELF it
        // would start every core at EL3.
        machine_args: &["-M", "raspi3b"],
        image: Image::Raw {
            file_name: "kernel8.img",
        },
        smp_flag: false,
        gics: &[],
        default_gic: None,
        // The PL011 is QEMU's serial 0, the mini UART serial 1.
        alt_console: Some(AltConsole {
            feature: "rpi-mini-uart",
            qemu_args: &["-serial", "null", "-serial", "mon:stdio"],
        }),
        sd_card: Some(SdCard {
            cargo_args: &["--no-default-features", "--features", "board-rpi"],
        }),
    },
];

/// The default board (`virt`).
pub fn default() -> &'static Board {
    &BOARDS[0]
}

/// Looks a board up by name.
pub fn find(name: &str) -> Result<&'static Board, Error> {
    BOARDS.iter().find(|b| b.name == name).ok_or_else(|| {
        let names: Vec<_> = BOARDS.iter().map(|b| b.name).collect();
        Error::usage(format!(
            "unknown board `{name}`{} (boards: {})",
            crate::suggest::did_you_mean(name, names.iter().copied()),
            names.join(", ")
        ))
    })
}

impl Board {
    /// The GIC version to use given the user's `--gic` (or `None` for the board's default).
    pub fn gic(&self, requested: Option<u8>) -> Result<Option<u8>, Error> {
        match requested {
            None => Ok(self.default_gic),
            Some(_) if self.gics.is_empty() => Err(Error::usage(format!(
                "board `{}` has no GIC; drop `--gic`",
                self.name
            ))),
            Some(v) if self.gics.contains(&v) => Ok(Some(v)),
            Some(v) => Err(Error::usage(format!(
                "board `{}` does not support GIC version {v} (supported: {:?})",
                self.name, self.gics
            ))),
        }
    }

    /// The configurations `test` runs every binary in: one per GIC version, or one if none.
    pub fn configs(&self) -> Vec<Option<u8>> {
        if self.gics.is_empty() {
            vec![None]
        } else {
            self.gics.iter().copied().map(Some).collect()
        }
    }

    /// QEMU machine arguments for `gic`.
    pub fn machine(&self, gic: Option<u8>) -> Vec<String> {
        let gic = gic.map(|v| v.to_string()).unwrap_or_default();
        self.machine_args
            .iter()
            .map(|a| a.replace("{gic}", &gic))
            .collect()
    }

    /// QEMU arguments giving the machine `smp` cores, where QEMU lets the number be chosen.
    pub fn smp_args(&self, smp: u8) -> Vec<String> {
        if self.smp_flag {
            vec!["-smp".to_string(), smp.to_string()]
        } else {
            Vec::new()
        }
    }

    /// The alternative console, or the error for a board without one.
    pub fn alt_console(&self) -> Result<&AltConsole, Error> {
        self.alt_console.as_ref().ok_or_else(|| {
            Error::usage(format!(
                "board `{}` has only one console; drop `--mini-uart`",
                self.name
            ))
        })
    }

    /// The SD-card recipe, or the error for a QEMU-only board.
    pub fn sd_card(&self) -> Result<&SdCard, Error> {
        self.sd_card.as_ref().ok_or_else(|| {
            let names: Vec<_> = BOARDS
                .iter()
                .filter(|b| b.sd_card.is_some())
                .map(|b| b.name)
                .collect();
            Error::usage(format!(
                "board `{}` exists only in QEMU and has no SD-card image (boards with one: {})",
                self.name,
                names.join(", ")
            ))
        })
    }

    /// Human-readable configuration name, e.g. `virt gicv2`.
    pub fn label(&self, gic: Option<u8>) -> String {
        match gic {
            Some(v) => format!("{} gicv{v}", self.name),
            None => self.name.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virt_substitutes_the_gic_version() {
        let virt = find("virt").unwrap();
        assert_eq!(virt.machine(Some(2))[1], "virt,gic-version=2");
        assert_eq!(virt.gic(None).unwrap(), Some(3));
        assert!(virt.gic(Some(4)).is_err());
        assert_eq!(virt.configs(), vec![Some(2), Some(3)]);
        assert_eq!(virt.label(Some(2)), "virt gicv2");
        assert_eq!(virt.smp_args(4), ["-smp", "4"]);
        assert!(find("rpi-zero2w").unwrap().smp_args(4).is_empty());
    }

    #[test]
    fn rpi_has_no_gic() {
        let rpi = find("rpi-zero2w").unwrap();
        assert!(rpi.gic(Some(2)).is_err());
        assert_eq!(rpi.configs(), vec![None]);
        assert!(find("pc").is_err());
    }

    #[test]
    fn only_the_pi_has_an_image_and_a_second_console() {
        let rpi = find("rpi-zero2w").unwrap();
        assert!(rpi.cargo_args.join(" ").contains("qemu-exit"));
        let card = rpi.sd_card().unwrap();
        assert!(!card.cargo_args.join(" ").contains("qemu-exit"));
        assert_eq!(rpi.alt_console().unwrap().feature, "rpi-mini-uart");
        let virt = find("virt").unwrap();
        assert_eq!(virt.sd_card().unwrap_err().code, 2);
        assert!(virt.alt_console().is_err());
    }
}
